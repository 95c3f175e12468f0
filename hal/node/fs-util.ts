/** Durable file-system primitives of the Node HAL (the "fsync the directory too" details). */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a directory's entries (creations, renames, unlinks) durable. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/** The errno code of a Node fs error (`ENOENT`, …), if any. */
export function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}
