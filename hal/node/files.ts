/**
 * Read-only file access below configured roots for the Node HAL. Two gates: the lexical one
 * shared with the mock (`..`, `.`, `//` normalised; outside every root → refused), then the real
 * path: `fs.realpath` resolves symlinks and the target must still lie below a root's real path,
 * so a link inside /var/log pointing at /etc/shadow is refused. Reads open the resolved path with
 * O_NOFOLLOW, so swapping the final component for a symlink after the check does not help.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { AccessDeniedError, HalError, NotFoundError } from '../errors.ts';
import type { FileEntry, Files } from '../types.ts';
import { isWithin, joinPath, resolveInRoots } from '../shared/paths.ts';
import { requireInteger } from '../shared/validate.ts';
import { code } from './fs-util.ts';

export function createNodeFiles(roots: readonly string[]): Files {
  /** Real paths of the roots (a root may itself be a symlink, e.g. /var/run). */
  const realRoots = async (): Promise<string[]> =>
    (await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)))).filter((r): r is string => r !== undefined);

  /** Lexical check, then the real-path check; returns the real path to operate on. */
  const resolve = async (path: unknown): Promise<{ path: string; real: string }> => {
    const lexical = resolveInRoots(path, roots).path;
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (error) {
      throw mapError(error, lexical);
    }
    if (!(await realRoots()).some((root) => isWithin(real, root))) throw new AccessDeniedError(lexical);
    return { path: lexical, real };
  };

  const entry = (path: string, info: Stats): FileEntry => ({
    path,
    kind: info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other',
    size: info.isFile() ? info.size : 0,
    modifiedUtcMs: Math.floor(info.mtimeMs), // the contract (and CBOR integer fields) wants whole milliseconds
  });

  return {
    roots: () => [...roots],
    async stat(path) {
      const resolved = await resolve(path);
      return entry(resolved.path, await stat(resolved.real).catch((error) => Promise.reject(mapError(error, resolved.path))));
    },
    async list(path) {
      const resolved = await resolve(path);
      let names: string[];
      try {
        names = (await readdir(resolved.real)).sort();
      } catch (error) {
        throw mapError(error, resolved.path);
      }
      const entries: FileEntry[] = [];
      for (const name of names) {
        const childPath = joinPath(resolved.path, name);
        try {
          const child = await resolve(childPath);
          entries.push(entry(childPath, await stat(child.real)));
        } catch (error) {
          // A link leaving the roots is listed as what it is, without revealing its target.
          if (error instanceof AccessDeniedError) entries.push(entry(childPath, await lstat(joinPath(resolved.real, name))));
          else if (!(error instanceof NotFoundError)) throw error; // vanished meanwhile: skip
        }
      }
      return entries;
    },
    async read(path, offset, length) {
      requireInteger(offset, 'files.read: offset');
      requireInteger(length, 'files.read: length');
      const resolved = await resolve(path);
      let handle;
      try {
        handle = await open(resolved.real, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        throw mapError(error, resolved.path);
      }
      try {
        if ((await handle.stat()).isDirectory()) throw new HalError('isDirectory', `is a directory: ${resolved.path}`);
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return out.subarray(0, done);
      } finally {
        await handle.close();
      }
    },
  };
}

function mapError(error: unknown, path: string): Error {
  switch (code(error)) {
    case 'ENOENT':
      return new NotFoundError(path);
    case 'EACCES':
    case 'EPERM':
    case 'ELOOP':
      return new AccessDeniedError(path);
    case 'ENOTDIR':
      return new HalError('notDirectory', `not a directory: ${path}`);
    case 'EISDIR':
      return new HalError('isDirectory', `is a directory: ${path}`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
