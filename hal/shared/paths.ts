/**
 * Path rules of the `files` facet, shared by the mock and the Node HAL so both refuse exactly
 * the same names: absolute POSIX paths only, `.`/`..`/duplicate slashes normalised lexically,
 * and the result must be a root or lie below one. (The Node HAL additionally checks the real
 * path after symlinks.) Portable: no platform imports.
 */
import { AccessDeniedError, InvalidOptionsError } from '../errors.ts';

/** Lexical normalisation of an absolute path; `..` above `/` stays at `/` (as POSIX does). */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

export function isWithin(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(root + '/');
}

/** Validates and normalises configured roots (absolute, no NUL); duplicates dropped. */
export function normalizeRoots(roots: readonly string[], where: string): string[] {
  const out: string[] = [];
  for (const root of roots) {
    if (typeof root !== 'string' || !root.startsWith('/') || root.includes('\0'))
      throw new InvalidOptionsError(`${where}: root ${JSON.stringify(root)} must be an absolute path`);
    const normalized = normalizePath(root);
    if (!out.includes(normalized)) out.push(normalized);
  }
  return out;
}

/**
 * Resolves an agent-supplied path against the roots: returns the normalised path and the root
 * it lies in, or throws `AccessDeniedError` (relative, NUL, or outside every root).
 */
export function resolveInRoots(path: unknown, roots: readonly string[]): { path: string; root: string } {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) throw new AccessDeniedError(String(path));
  const normalized = normalizePath(path);
  const root = roots.find((candidate) => isWithin(normalized, candidate));
  if (root === undefined) throw new AccessDeniedError(path);
  return { path: normalized, root };
}

export function joinPath(directory: string, name: string): string {
  return directory === '/' ? `/${name}` : `${directory}/${name}`;
}
