/**
 * What the manager knows per device: its assignment inputs (fleet entry, auto-enrolment, admin
 * changes), what it last said about itself (identity, targets, reference counter, installed list),
 * and what it reported (status history, inventories). In memory, bounded per device, with every
 * change also handed to the journal when one is configured.
 */
import type { ConnectionReport, IdentifyRequest, InventoryReport, StatusReport, Target } from '../agent/delivery/messages.ts';
import type { DeviceAssignments } from './assignments.ts';
import type { DeviceAssignment, Fleet } from './fleet.ts';
import type { JournalEntry } from './journal.ts';

export type StatusEntry = StatusReport & { receivedUtcMs: number };
export type ReportEntry = InventoryReport & { receivedUtcMs: number };
export type ReportKind = InventoryReport['kind'];

export interface DeviceState {
  id: string;
  /** What decides the device's package list and requested reports. */
  assignments: DeviceAssignments;
  /** `fleet`: listed in the fleet file; `auto`: enrolled into `defaults.group` on first contact. */
  enrolled: 'fleet' | 'auto';
  identity?: IdentifyRequest['identity'];
  agentVersion?: string;
  platform?: string;
  targets?: Target[];
  firstSeenUtcMs?: number;
  lastSeenUtcMs?: number;
  /** Highest reference counter seen from the device. */
  referenceCounter?: number;
  installed?: { utcMs: number; referenceCounter: number; packages: ConnectionReport['installed'] };
  statusHistory: StatusEntry[];
  reportHistory: ReportEntry[];
  /** The latest report of each kind. */
  inventories: Partial<Record<ReportKind, ReportEntry>>;
  /** Every identify answer carries it until cleared. */
  redirect?: string;
  /** The own package list was set over the admin API (so a journal snapshot keeps it). */
  assignedByAdmin?: true;
  /** `defaults.group` at enrolment (auto-enrolled devices). */
  enrolledInto?: string;
  enrolledUtcMs?: number;
}

/** History kept per device: enough for tests, the demo and a person; old entries fall off. */
export const MAX_STATUS = 1000;
export const MAX_REPORTS = 50;
/** Devices enrolled on first contact, at most (default): each costs memory and journal lines. */
export const DEFAULT_MAX_ENROLMENTS = 10_000;

export class Devices {
  readonly #fleet: Fleet;
  readonly #devices = new Map<string, DeviceState>();
  readonly #journal: (entry: JournalEntry) => void;
  readonly maxEnrolments: number;
  #enrolled = 0;

  constructor(fleet: Fleet, journal: (entry: JournalEntry) => void = () => {}, maxEnrolments = DEFAULT_MAX_ENROLMENTS) {
    this.#fleet = fleet;
    this.#journal = journal;
    this.maxEnrolments = maxEnrolments;
    for (const [id, entry] of fleet.devices) {
      const assignments: DeviceAssignments = { groups: [...entry.groups], packages: [...entry.packages], reports: [...entry.reports] };
      if (entry.nextPollMs !== undefined) assignments.nextPollMs = entry.nextPollMs;
      this.#devices.set(id, newDevice(id, 'fleet', assignments));
    }
  }

  get(id: string): DeviceState | undefined {
    return this.#devices.get(id);
  }

  list(): DeviceState[] {
    return [...this.#devices.values()];
  }

  /** Whether enrolling one more device would pass `maxEnrolments`. */
  enrolmentFull(): boolean {
    return this.#enrolled >= this.maxEnrolments;
  }

  /** The device, enrolled into the fleet's default group if it is new and the fleet and the cap allow that. */
  findOrEnrol(id: string, utcMs: number): DeviceState | undefined {
    const known = this.#devices.get(id);
    if (known) return known;
    const group = this.#fleet.defaults.group;
    if (group === undefined || this.enrolmentFull()) return undefined;
    this.#journal({ type: 'enrol', deviceId: id, group, utcMs });
    return this.#enrol(id, group, utcMs);
  }

  #enrol(id: string, group: string, utcMs: number): DeviceState {
    const device = newDevice(id, 'auto', { groups: [group], packages: [], reports: [] });
    device.enrolledInto = group;
    device.enrolledUtcMs = utcMs;
    this.#devices.set(id, device);
    this.#enrolled++;
    return device;
  }

  identified(device: DeviceState, request: IdentifyRequest, utcMs: number): void {
    device.identity = request.identity;
    device.agentVersion = request.agentVersion;
    device.platform = request.platform;
    device.targets = request.targets;
    this.#seen(device, request.referenceCounter, utcMs);
  }

  connected(device: DeviceState, report: ConnectionReport, utcMs: number): void {
    this.#seen(device, report.referenceCounter, utcMs);
    // Like target records: an installed list only replaces one stamped with a lower counter.
    if (!device.installed || device.installed.referenceCounter <= report.referenceCounter)
      device.installed = { utcMs, referenceCounter: report.referenceCounter, packages: report.installed };
  }

  /** Any stamped request: last seen and the counter. */
  touched(device: DeviceState, referenceCounter: number, utcMs: number): void {
    this.#seen(device, referenceCounter, utcMs);
  }

  addStatus(device: DeviceState, report: StatusReport, utcMs: number, replay = false): void {
    if (!replay) {
      this.#seen(device, report.referenceCounter, utcMs);
      this.#journal({ type: 'status', utcMs, report });
    }
    device.statusHistory.push({ ...report, receivedUtcMs: utcMs });
    if (device.statusHistory.length > MAX_STATUS) device.statusHistory.splice(0, device.statusHistory.length - MAX_STATUS);
  }

  addReport(device: DeviceState, report: InventoryReport, utcMs: number, replay = false): void {
    if (!replay) {
      this.#seen(device, report.referenceCounter, utcMs);
      this.#journal({ type: 'report', utcMs, report });
    }
    const entry: ReportEntry = { ...report, receivedUtcMs: utcMs };
    device.reportHistory.push(entry);
    if (device.reportHistory.length > MAX_REPORTS) device.reportHistory.splice(0, device.reportHistory.length - MAX_REPORTS);
    device.inventories[report.kind] = entry;
  }

  assign(device: DeviceState, packages: DeviceAssignment[], replay = false): void {
    device.assignments.packages = packages;
    device.assignedByAdmin = true;
    if (!replay) this.#journal({ type: 'assign', deviceId: device.id, packages });
  }

  redirect(device: DeviceState, url: string | undefined, replay = false): void {
    if (url === undefined) delete device.redirect;
    else device.redirect = url;
    if (!replay) this.#journal({ type: 'redirect', deviceId: device.id, url: url ?? null });
  }

  /** Journal replay of an enrolment (no new journal line); past the cap (lowered since), the device is not restored. */
  restoreEnrolment(id: string, group: string, utcMs: number): DeviceState | undefined {
    return this.#devices.get(id) ?? (this.enrolmentFull() ? undefined : this.#enrol(id, group, utcMs));
  }

  /** The journal lines that rebuild what this class persists (for a compaction), oldest first per device. */
  journalEntries(): JournalEntry[] {
    const entries: JournalEntry[] = [];
    for (const device of this.#devices.values()) {
      if (device.enrolledInto !== undefined) entries.push({ type: 'enrol', deviceId: device.id, group: device.enrolledInto, utcMs: device.enrolledUtcMs ?? 0 });
      if (device.assignedByAdmin) entries.push({ type: 'assign', deviceId: device.id, packages: device.assignments.packages });
      if (device.redirect !== undefined) entries.push({ type: 'redirect', deviceId: device.id, url: device.redirect });
      for (const { receivedUtcMs, ...report } of device.statusHistory) entries.push({ type: 'status', utcMs: receivedUtcMs, report: report as StatusReport });
      // The latest report of a kind may have fallen out of the history; it goes first so the history replays over it.
      for (const latest of Object.values(device.inventories))
        if (latest && !device.reportHistory.includes(latest)) entries.push(reportEntry(latest));
      for (const entry of device.reportHistory) entries.push(reportEntry(entry));
    }
    return entries;
  }

  #seen(device: DeviceState, referenceCounter: number | undefined, utcMs: number): void {
    device.firstSeenUtcMs ??= utcMs;
    device.lastSeenUtcMs = utcMs;
    if (referenceCounter !== undefined) device.referenceCounter = Math.max(device.referenceCounter ?? 0, referenceCounter);
  }
}

function reportEntry({ receivedUtcMs, ...report }: ReportEntry): JournalEntry {
  return { type: 'report', utcMs: receivedUtcMs, report: report as InventoryReport };
}

function newDevice(id: string, enrolled: DeviceState['enrolled'], assignments: DeviceAssignments): DeviceState {
  return { id, enrolled, assignments, statusHistory: [], reportHistory: [], inventories: {} };
}
