/**
 * A read-only virtual file tree for the mock `files` facet. Directories are implied by file
 * paths; the root rules are the shared ones (hal/shared/paths.ts), so the mock refuses exactly
 * what the Node HAL refuses (minus symlinks, which the virtual tree does not have).
 */
import { utf8Encode } from '../../agent/util/bytes.ts';
import { HalError, InvalidOptionsError, NotFoundError } from '../errors.ts';
import type { FileEntry, Files } from '../types.ts';
import { joinPath, normalizePath, normalizeRoots, resolveInRoots } from '../shared/paths.ts';
import { requireInteger, requireObject } from '../shared/validate.ts';

type Node = { kind: 'file'; bytes: Uint8Array } | { kind: 'directory'; children: Set<string> };

export class MockFileTree {
  readonly roots: string[];
  readonly #nodes = new Map<string, Node>();
  readonly #modifiedUtcMs: number;

  constructor(files: unknown, roots: unknown, modifiedUtcMs: number) {
    if (roots !== undefined && !Array.isArray(roots)) throw new InvalidOptionsError('MockHardware: roots must be an array of paths');
    this.roots = normalizeRoots((roots as string[] | undefined) ?? [], 'MockHardware: roots');
    this.#modifiedUtcMs = modifiedUtcMs;
    this.#nodes.set('/', { kind: 'directory', children: new Set() });
    if (files === undefined) return;
    for (const [path, content] of Object.entries(requireObject(files, 'MockHardware: files'))) {
      if (!path.startsWith('/')) throw new InvalidOptionsError(`MockHardware: files path ${path} must be absolute`);
      if (typeof content !== 'string' && !(content instanceof Uint8Array))
        throw new InvalidOptionsError(`MockHardware: files[${path}] must be a string or Uint8Array`);
      this.#addFile(normalizePath(path), typeof content === 'string' ? utf8Encode(content) : content.slice());
    }
  }

  #addFile(path: string, bytes: Uint8Array): void {
    const parts = path.split('/').filter(Boolean);
    let current = '/';
    for (const [index, part] of parts.entries()) {
      const parent = this.#nodes.get(current);
      if (parent?.kind !== 'directory') throw new InvalidOptionsError(`MockHardware: files: ${current} is both a file and a directory`);
      parent.children.add(part);
      current = joinPath(current, part);
      const last = index === parts.length - 1;
      const existing = this.#nodes.get(current);
      if (last) {
        if (existing) throw new InvalidOptionsError(`MockHardware: files: ${current} given twice or is a directory`);
        this.#nodes.set(current, { kind: 'file', bytes });
      } else if (!existing) this.#nodes.set(current, { kind: 'directory', children: new Set() });
    }
  }

  facet(): Files {
    return {
      roots: () => [...this.roots],
      stat: async (path) => this.#entry(this.#resolve(path).path),
      list: async (path) => {
        const resolved = this.#resolve(path).path;
        const node = this.#node(resolved);
        if (node.kind !== 'directory') throw new HalError('notDirectory', `not a directory: ${resolved}`);
        return [...node.children].sort().map((name) => this.#entry(joinPath(resolved, name)));
      },
      read: async (path, offset, length) => {
        requireInteger(offset, 'files.read: offset');
        requireInteger(length, 'files.read: length');
        const resolved = this.#resolve(path).path;
        const node = this.#node(resolved);
        if (node.kind !== 'file') throw new HalError('isDirectory', `is a directory: ${resolved}`);
        return node.bytes.slice(offset, offset + length);
      },
    };
  }

  #resolve(path: unknown): { path: string } {
    return resolveInRoots(path, this.roots);
  }

  #node(path: string): Node {
    const node = this.#nodes.get(path);
    if (!node) throw new NotFoundError(path);
    return node;
  }

  #entry(path: string): FileEntry {
    const node = this.#node(path);
    return {
      path,
      kind: node.kind,
      size: node.kind === 'file' ? node.bytes.length : 0,
      modifiedUtcMs: this.#modifiedUtcMs,
    };
  }
}
