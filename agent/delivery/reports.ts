/**
 * Reports a manager may ask for with the package list (seed 000): software inventory (the
 * package DB), machine inventory (device.system) and file collection (files below the HAL's
 * roots only, size-capped). Building a report never throws for one bad file: the file's entry
 * says what went wrong, the rest is still reported.
 */
import type { Files, FileEntry, System } from '../../hal/types.ts';
import { LIMITS, type CollectedFile, type InstalledPackageRecord } from './messages.ts';
import type { InstalledPackage } from './package-db.ts';

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

const MAX_DEPTH = 8;

/** True for paths that try to climb out of where they point (`..` segments) — refused before the HAL sees them. */
export function isTraversal(path: string): boolean {
  return path.split(/[\\/]+/).some((segment) => segment === '..');
}

/**
 * Collects the files at `paths` (a directory means the files below it, to a bounded depth),
 * including their content until `maxBytes` in total; later files are listed without content.
 */
export async function collectFiles(files: Files, paths: readonly string[], maxBytes: number): Promise<CollectedFile[]> {
  const out: CollectedFile[] = [];
  let budget = maxBytes;
  const failure = (path: string, error: unknown): CollectedFile => ({
    path,
    size: 0,
    truncated: false,
    error: { code: typeof (error as { code?: unknown })?.code === 'string' ? ((error as { code: string }).code).slice(0, 64) : 'error', message: error instanceof Error ? error.message.slice(0, 500) : String(error) },
  });

  const addFile = async (entry: FileEntry) => {
    const take = Math.min(entry.size, budget);
    let content: Uint8Array | undefined;
    if (take > 0) {
      try {
        content = await files.read(entry.path, 0, take);
      } catch (error) {
        out.push(failure(entry.path, error));
        return;
      }
      budget -= content.length;
    }
    out.push({ path: entry.path, size: entry.size, modifiedUtcMs: Math.max(0, Math.floor(entry.modifiedUtcMs)), ...(content ? { content } : {}), truncated: (content?.length ?? 0) < entry.size });
  };

  const walk = async (entry: FileEntry, depth: number): Promise<void> => {
    if (out.length >= LIMITS.files) return;
    if (entry.kind === 'file') return addFile(entry);
    if (entry.kind !== 'directory' || depth >= MAX_DEPTH) return;
    let children: FileEntry[];
    try {
      children = await files.list(entry.path);
    } catch (error) {
      out.push(failure(entry.path, error));
      return;
    }
    for (const child of children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) await walk(child, depth + 1);
  };

  for (const path of paths) {
    if (out.length >= LIMITS.files) break;
    if (isTraversal(path)) {
      out.push({ path, size: 0, truncated: false, error: { code: 'accessDenied', message: 'path traversal refused' } });
      continue;
    }
    try {
      await walk(await files.stat(path), 0);
    } catch (error) {
      out.push(failure(path, error));
    }
  }
  return out.slice(0, LIMITS.files);
}
