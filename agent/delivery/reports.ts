/**
 * Reports a manager may ask for with the package list (seed 000): software inventory (the
 * package DB), machine inventory (device.system) and file collection (files below the HAL's
 * roots only, size-capped). Building a report never throws for one bad file: the file's entry
 * says what went wrong, the rest is still reported.
 */
import type { Files, System } from '../../hal/types.ts';
import { loadOnce } from '../util/load-once.ts';
import { LIMITS, type CollectedFile, type InstalledPackageRecord } from './messages.ts';
import type { InstalledPackage } from './package-db.ts';

const fileCollection = loadOnce(() => import('./file-collection.ts'));

export function softwareInventory(installed: readonly InstalledPackage[]): InstalledPackageRecord[] {
  return installed.map((entry) => ({
    name: entry.name,
    version: entry.version,
    digest: entry.digest,
    installedUtcMs: entry.installedUtcMs,
    optional: entry.optional,
  }));
}

export async function machineInventory(system: System) {
  const [identity, inventory] = await Promise.all([system.identity(), system.inventory()]);
  // The schema bounds lists; a big machine is summarised rather than refused.
  return {
    identity,
    inventory: { ...inventory, storage: inventory.storage.slice(0, 64), network: inventory.network.slice(0, 64).map((n) => ({ ...n, addresses: n.addresses.slice(0, 32) })) },
  };
}

/**
 * Collects the files at `paths` (a directory means the files below it, to a bounded depth),
 * including their content until `maxBytes` in total (./file-collection.ts, imported on first use).
 */
export async function collectFiles(files: Files, paths: readonly string[], maxBytes: number): Promise<CollectedFile[]> {
  return (await fileCollection()).collectFiles(files, paths, maxBytes, LIMITS.files);
}
