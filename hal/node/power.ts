/**
 * Power facet of the Node HAL.
 *
 * Reboot: the agent cannot reboot a Linux board from Node, so a reboot is a *clean exit* that a
 * runner (systemd, the QEMU harness) turns into a restart: `requestReboot` persists a boot record
 * (`<workDir>/boot-record.json`, atomically) and then calls `onReboot`, by default exiting with
 * `REBOOT_EXIT_CODE` on the next turn of the event loop (after the agent's current step yields).
 * The next start reads and deletes the record, so `lastBoot()` says why it runs.
 *
 * Conditions come from /sys/class/power_supply when the board has one (mains/USB online,
 * battery capacity and status); everything it does not tell falls back to the options.
 */
import { readFile, readdir, unlink } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionsError } from '../errors.ts';
import type { Power, PowerConditions, RebootOptions } from '../types.ts';
import { defaultConditions } from '../shared/conditions.ts';
import { requireObject, requireString } from '../shared/validate.ts';
import { code, fsyncDirectory, writeFileAtomic } from './fs-util.ts';

/** EX_TEMPFAIL: "try again" — the runner restarts the agent. */
export const REBOOT_EXIT_CODE = 75;
export const BOOT_RECORD_FILE = 'boot-record.json';

export type LastBoot = { cause: 'requested' | 'powerOn' | 'unknown'; reason?: string };

/** Reads and deletes the boot record of the previous run. */
export async function takeBootRecord(workDir: string): Promise<LastBoot> {
  const path = join(workDir, BOOT_RECORD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (code(error) === 'ENOENT') return { cause: 'powerOn' };
    throw error;
  }
  await unlink(path);
  await fsyncDirectory(workDir);
  try {
    const record = JSON.parse(text) as { cause?: unknown; reason?: unknown };
    if (record.cause === 'requested' && typeof record.reason === 'string') return { cause: 'requested', reason: record.reason };
  } catch {
    // A record we cannot read says a reboot was under way but not why.
  }
  return { cause: 'unknown' };
}

export class NodePower {
  readonly #workDir: string;
  readonly #lastBoot: LastBoot;
  readonly #onReboot: (reason: string) => void;
  readonly #fallback: Partial<PowerConditions>;
  readonly #supplyDirectory: string;
  readonly #idleSource: (() => number) | undefined;
  readonly #listeners = new Set<() => void>();
  #lastActivity = performance.now();

  constructor(options: {
    workDir: string;
    lastBoot: LastBoot;
    onReboot: ((reason: string) => void) | undefined;
    conditions: Partial<PowerConditions>;
    supplyDirectory: string;
    idleMs: (() => number) | undefined;
  }) {
    this.#workDir = options.workDir;
    this.#lastBoot = options.lastBoot;
    this.#onReboot = options.onReboot ?? defaultReboot;
    this.#fallback = options.conditions;
    this.#supplyDirectory = options.supplyDirectory;
    this.#idleSource = options.idleMs;
  }

  /** User activity seen by the host (CLI, demo UI). */
  activity(): void {
    this.#lastActivity = performance.now();
    for (const listener of [...this.#listeners]) listener();
  }

  close(): void {
    this.#listeners.clear();
  }

  facet(): Power {
    return {
      conditions: () => this.#conditions(),
      idleMs: () => (this.#idleSource ? this.#idleSource() : performance.now() - this.#lastActivity),
      onActivity: (listener) => {
        if (typeof listener !== 'function') throw new InvalidOptionsError('onActivity: listener must be a function');
        this.#listeners.add(listener);
        return () => void this.#listeners.delete(listener);
      },
      requestReboot: async (options: RebootOptions) => {
        const reason = requireString(requireObject(options, 'requestReboot').reason, 'requestReboot: reason');
        await writeFileAtomic(join(this.#workDir, BOOT_RECORD_FILE), JSON.stringify({ cause: 'requested', reason, utcMs: Date.now() }));
        this.#onReboot(reason);
      },
      lastBoot: async () => ({ ...this.#lastBoot }),
    };
  }

  async #conditions(): Promise<PowerConditions> {
    const conditions: PowerConditions = { ...defaultConditions(), networkUp: hasExternalAddress(), ...this.#fallback };
    const supplies = await readSupplies(this.#supplyDirectory);
    const external = supplies.filter((s) => s.type === 'Mains' || s.type === 'USB' || s.type === 'USB_PD');
    const battery = supplies.find((s) => s.type === 'Battery');
    if (external.length > 0) conditions.externalPower = external.some((s) => s.online === '1');
    if (battery) {
      const capacity = Number(battery.capacity);
      if (battery.capacity !== undefined && Number.isFinite(capacity)) conditions.batteryPercent = Math.max(0, Math.min(100, capacity));
      conditions.charging = battery.status === 'Charging';
      if (external.length === 0) conditions.externalPower = battery.status === 'Charging' || battery.status === 'Full';
    }
    return conditions;
  }
}

function defaultReboot(): void {
  setImmediate(() => process.exit(REBOOT_EXIT_CODE));
}

interface Supply {
  type?: string;
  online?: string;
  capacity?: string;
  status?: string;
}

async function readSupplies(directory: string): Promise<Supply[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return []; // No power-supply class (containers, most VMs): the options decide.
  }
  const read = (name: string, field: string) =>
    readFile(join(directory, name, field), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
  return Promise.all(
    names.map(async (name) => ({
      type: await read(name, 'type'),
      online: await read(name, 'online'),
      capacity: await read(name, 'capacity'),
      status: await read(name, 'status'),
    })),
  );
}

function hasExternalAddress(): boolean {
  return Object.values(networkInterfaces()).some((addresses) => (addresses ?? []).some((a) => !a.internal));
}
