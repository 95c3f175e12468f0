/**
 * File collection (seed 000), a report a manager may ask for with the package list: the files at
 * the requested paths below the HAL's roots, size-capped. A lazy chunk (./reports.ts imports it
 * for the first poll that asks for files): most cycles never collect any. It imports no values
 * (the file cap comes from the caller): a lazy chunk's imports would split the chunks every
 * board loads, and each module costs the QuickJS heap about 1 KB.
 */
import type { Files, FileEntry } from '../../hal/types.ts';
import type { CollectedFile } from './messages.ts';

const MAX_DEPTH = 8;

/** True for paths that try to climb out of where they point (`..` segments) — refused before the HAL sees them. */
export function isTraversal(path: string): boolean {
  return path.split(/[\\/]+/).some((segment) => segment === '..');
}

/**
 * Collects the files at `paths` (a directory means the files below it, to a bounded depth),
 * including their content until `maxBytes` in total; later files are listed without content.
 */
export async function collectFiles(files: Files, paths: readonly string[], maxBytes: number, maxFiles: number): Promise<CollectedFile[]> {
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
    if (out.length >= maxFiles) return;
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
    if (out.length >= maxFiles) break;
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
  return out.slice(0, maxFiles);
}
