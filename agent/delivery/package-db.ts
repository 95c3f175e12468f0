/**
 * The local package database: one store key per installed package, in its own crash-safe store
 * (the board's `pkgdb` partition, sized for the device's package count; the `state` store when
 * the board has none). The job/state store stays small: a long package list never competes with
 * jobs and reports for its space.
 *
 * Two stores cannot share one atomic batch, so "package installed" is a hand-over in a fixed
 * order (../delivery/service.ts `#settle`):
 *   1. the job reaches its final state in the state store (`succeeded`, or a removal `done` with
 *      outcome ok), atomically with its last status report: that record says "committing X";
 *   2. the DB write for X (put of the entry, or delete) in this store;
 *   3. the job record is cleared.
 * A power cut between 1 and 3 leaves the job record; at the next boot (or poll) the same write is
 * applied again: a put of the same entry and a delete are both idempotent. So a package is never
 * recorded installed before its post-install succeeded, and never lost once it did.
 */
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue, StoreFullError } from '../store/index.ts';
import { DeliveryError } from './events.ts';
import type { CommandSpec } from './messages.ts';

export const PACKAGE_PREFIX = 'pkg/';
/** Room an entry may take, uninstall command included: a typical one is ~250 bytes. */
export const ENTRY_RESERVE_BYTES = 2048;

export interface InstalledPackage {
  name: string;
  version: string;
  /** SHA-256 of the artifact that was installed. */
  digest: string;
  optional: boolean;
  installedUtcMs: number;
  /** How to remove it, from the manager's instruction at install time. */
  uninstall?: CommandSpec;
  /** The job that installed it. */
  jobId: string;
  /** The staging file keeping the installed artifact (`delivery.keepInstalled`): a later delta's source. */
  artifact?: string;
}

/** The package DB cannot take another entry: the package is installed but not recorded yet. */
export class PackageDbFullError extends DeliveryError {
  constructor(name: string, cause: StoreFullError) {
    super('packageDbFull', `package database full: ${name} cannot be recorded (${cause.message})`);
    this.name = 'PackageDbFullError';
  }
}

/**
 * Entries are decoded when asked for, never kept decoded: the store holds every entry's bytes in
 * memory already, and a decoded entry (its uninstall command, digest, job id) took ~0.75 KB of a
 * QuickJS board's heap per installed package, for the agent's life (a few hundred packages would
 * be the whole budget). `list()` runs a few times a poll: a CBOR decode of each entry, no I/O.
 */
export class PackageDb {
  readonly store: KeyValueStore;

  constructor(store: KeyValueStore) {
    this.store = store;
  }

  list(): InstalledPackage[] {
    const entries: InstalledPackage[] = [];
    for (const key of this.store.keys(PACKAGE_PREFIX)) {
      const entry = getValue<InstalledPackage>(this.store, key);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  get(name: string): InstalledPackage | undefined {
    const entry = getValue<InstalledPackage>(this.store, PACKAGE_PREFIX + name);
    return entry?.name === name ? entry : undefined;
  }

  /**
   * Whether another entry surely fits (checked before a job starts, so a full DB costs no
   * download and no post-install). The exact check is the store's, at record time.
   */
  hasRoom(reserveBytes = ENTRY_RESERVE_BYTES): boolean {
    const stats = this.store.stats();
    return stats.liveBytes + reserveBytes <= stats.areaLength;
  }

  /** Records `entry` as installed (idempotent). A full DB is a `PackageDbFullError`. */
  async record(entry: InstalledPackage): Promise<void> {
    try {
      await putValue(this.store, PACKAGE_PREFIX + entry.name, entry);
    } catch (error) {
      if (error instanceof StoreFullError) throw new PackageDbFullError(entry.name, error);
      throw error;
    }
  }

  /** Forgets a removed package (idempotent; a delete never needs more room than a full store keeps for it). */
  async forget(name: string): Promise<void> {
    if (this.store.has(PACKAGE_PREFIX + name)) await this.store.delete(PACKAGE_PREFIX + name);
  }
}
