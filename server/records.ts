/**
 * Per-target records (seed 004): for each target an agent manages (the device, user profiles),
 * what this manager knows about it, stamped with the agent's reference counter of the connection
 * that last updated it. The counter, never the wall clock, orders records: managers' clocks may
 * disagree by hours, the agent's counter only goes up. So a record is only ever replaced by one
 * with a counter at least as high; a late or replayed connection cannot roll it back.
 */
import type { ConnectionReport, Target, TargetRecord } from '../agent/delivery/messages.ts';

export type RecordPackage = TargetRecord['packages'][number];

export interface StoredRecord {
  target: string;
  kind: Target['kind'];
  deviceId: string;
  referenceCounter: number;
  packages: RecordPackage[];
  /** This manager's UTC when the record last changed (informational: never used to order records). */
  updatedUtcMs: number;
  /** The manager this record was moved from, and when. */
  movedFrom?: string;
  movedInUtcMs?: number;
  /** Set when another manager took the target over (`POST …/release`). */
  movedTo?: string;
  releasedUtcMs?: number;
}

export type ReleaseOutcome = 'released' | 'unknown' | 'newer';

export class TargetRecords {
  readonly #records = new Map<string, StoredRecord>();
  readonly #onChange: (record: StoredRecord) => void;

  constructor(onChange: (record: StoredRecord) => void = () => {}) {
    this.#onChange = onChange;
  }

  get(id: string): StoredRecord | undefined {
    const record = this.#records.get(id);
    return record && { ...record, packages: [...record.packages] };
  }

  list(): StoredRecord[] {
    return [...this.#records.keys()].map((id) => this.get(id)!);
  }

  /**
   * Records a connection for one target. The device target gets the installed list (the protocol
   * reports one list per device); a user target keeps its packages (from a move) and gets the stamp.
   * Returns false when the stored record is newer than this connection.
   */
  applyConnection(target: { id: string; kind: Target['kind'] }, connection: Pick<ConnectionReport, 'deviceId' | 'referenceCounter' | 'installed'>, utcMs: number): boolean {
    const existing = this.#records.get(target.id);
    if (existing && existing.referenceCounter > connection.referenceCounter) return false;
    const packages = target.kind === 'device' ? connection.installed.map(copyPackage) : (existing?.packages ?? []);
    const record: StoredRecord = { target: target.id, kind: target.kind, deviceId: connection.deviceId, referenceCounter: connection.referenceCounter, packages, updatedUtcMs: utcMs };
    if (existing?.movedFrom !== undefined) {
      record.movedFrom = existing.movedFrom;
      if (existing.movedInUtcMs !== undefined) record.movedInUtcMs = existing.movedInUtcMs;
    }
    // `movedTo` is not carried over: a newer connection here means the target is ours again.
    this.#set(record);
    return true;
  }

  /** Takes over a record fetched from the previous manager (the caller decided it is the newer one). */
  adopt(remote: TargetRecord, from: string, utcMs: number): void {
    this.#set({
      target: remote.target,
      kind: remote.kind,
      deviceId: remote.deviceId,
      referenceCounter: remote.referenceCounter,
      packages: remote.packages.map(copyPackage),
      updatedUtcMs: utcMs,
      movedFrom: from,
      movedInUtcMs: utcMs,
    });
  }

  /**
   * Another manager took the target over, having seen our record up to `referenceCounter`. If our
   * record moved on since (a connection came in between its GET and this release), refuse: it must
   * fetch again, or it would drop what we learnt.
   */
  release(id: string, movedTo: string, referenceCounter: number, utcMs: number): ReleaseOutcome {
    const existing = this.#records.get(id);
    if (!existing) return 'unknown';
    if (existing.referenceCounter > referenceCounter) return 'newer';
    this.#set({ ...existing, movedTo, releasedUtcMs: utcMs });
    return 'released';
  }

  /** Journal replay: the last state of each record wins. */
  restore(record: StoredRecord): void {
    this.#records.set(record.target, record);
  }

  #set(record: StoredRecord): void {
    this.#records.set(record.target, record);
    this.#onChange(record);
  }
}

/** The wire form for the manager ↔ manager GET. */
export function wireRecord(record: StoredRecord, address: string): TargetRecord {
  const wire: TargetRecord = {
    type: 'targetRecord',
    target: record.target,
    kind: record.kind,
    deviceId: record.deviceId,
    referenceCounter: record.referenceCounter,
    packages: record.packages.map(copyPackage),
    updatedUtcMs: record.updatedUtcMs,
    manager: address,
  };
  if (record.movedTo !== undefined) wire.movedTo = record.movedTo;
  return wire;
}

function copyPackage(entry: RecordPackage): RecordPackage {
  const out: RecordPackage = { name: entry.name, version: entry.version };
  if (entry.digest !== undefined) out.digest = entry.digest;
  return out;
}
