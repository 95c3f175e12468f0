/**
 * The local package database: one store key per installed package. Only the pipeline's final
 * step writes it, in the same atomic batch that finishes the job (see ../pipeline/flow.ts), so a
 * package is never recorded installed without its post-install having succeeded.
 */
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { deleteOp, getValue, putOp } from '../store/index.ts';
import type { CommandSpec } from './messages.ts';

export const PACKAGE_PREFIX = 'pkg/';

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
}

export class PackageDb {
  readonly #store: KeyValueStore;

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  list(): InstalledPackage[] {
    return this.#store.keys(PACKAGE_PREFIX).map((key) => getValue<InstalledPackage>(this.#store, key) as InstalledPackage);
  }

  get(name: string): InstalledPackage | undefined {
    return getValue<InstalledPackage>(this.#store, PACKAGE_PREFIX + name);
  }

  /** The store op that records `entry` as installed (for a job's final atomic batch). */
  recordOp(entry: InstalledPackage): StoreOp {
    return putOp(PACKAGE_PREFIX + entry.name, entry);
  }

  /** The store op that forgets a removed package. */
  forgetOp(name: string): StoreOp {
    return deleteOp(PACKAGE_PREFIX + name);
  }
}
