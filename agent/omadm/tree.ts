/**
 * The DM tree (Configuration Manager): nodes with Format, Type, ACL and Scope, persisted in the
 * crash-safe store under `omadm/tree/<path>`. Every change runs in a transaction whose writes reach
 * the store as ONE batch on commit, so an Atomic (or a power cut) never leaves half a change; a
 * dropped transaction is a rollback. Paths are DM URIs (`./A/B`, `A/B`, `.`), kept without `./`.
 */
import { type KeyValueStore, decodeValue, deleteOp, putOp, type StoreOp } from '../store/index.ts';
import { type Acl, parseAcl, ROOT_ACL } from './acl.ts';
import { DmStatusError } from './errors.ts';

export const TREE_PREFIX = 'omadm/tree/';

export type NodeValue = string | Uint8Array;

export interface DmNode {
  leaf: boolean;
  /** DM format: chr, int, bool, bin, b64, float, date, time, xml, null, node. */
  format: string;
  type?: string;
  /** Own ACL text; absent = inherited. */
  acl?: string;
  /** Permanent nodes cannot be deleted by a server. */
  scope: 'permanent' | 'dynamic';
  value?: NodeValue;
}

const MAX_SEGMENT = 255;

/** `./A/B/` → `A/B`; `.` or `./` → `` (the root). Throws 404 on an empty or `..` segment. */
export function normalizePath(uri: string): string {
  let path = uri.trim();
  const query = path.indexOf('?');
  if (query >= 0) path = path.slice(0, query);
  if (path === '.' || path === './' || path === '') return '';
  if (path.startsWith('./')) path = path.slice(2);
  if (path.endsWith('/')) path = path.slice(0, -1);
  for (const segment of path.split('/'))
    if (segment === '' || segment === '.' || segment === '..' || segment.length > MAX_SEGMENT) throw new DmStatusError(404, 'malformed node path');
  return path;
}

export function parentOf(path: string): string | undefined {
  if (path === '') return undefined;
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export function uriOf(path: string): string {
  return path === '' ? '.' : `./${path}`;
}

/** A change set over the tree: reads see its own writes; `commit` writes them as one store batch. */
export class TreeTransaction {
  readonly #tree: DmTree;
  readonly #changes = new Map<string, DmNode | null>();

  constructor(tree: DmTree) {
    this.#tree = tree;
  }

  get(path: string): DmNode | undefined {
    const changed = this.#changes.get(path);
    if (changed !== undefined) return changed ?? undefined;
    return this.#tree.committed(path);
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /** Direct children names, sorted. */
  children(path: string): string[] {
    const prefix = path === '' ? '' : `${path}/`;
    const names = new Set<string>();
    // Committed nodes first, then this transaction's changes over them (null = removed).
    for (const [key, node] of [...this.#tree.entries(), ...this.#changes]) {
      const name = key.slice(prefix.length);
      if (key === '' || !key.startsWith(prefix) || name.includes('/')) continue;
      if (node !== null) names.add(name);
      else names.delete(name);
    }
    return [...names].sort();
  }

  /** The ACL in force at `path`: its own, or the nearest ancestor's, or the root default. */
  effectiveAcl(path: string): Acl {
    for (let at: string | undefined = path; at !== undefined; at = parentOf(at)) {
      const acl = this.get(at)?.acl;
      if (acl !== undefined) return parseAcl(acl);
    }
    return parseAcl(ROOT_ACL);
  }

  put(path: string, node: DmNode): void {
    this.#changes.set(path, { ...node });
  }

  /** Removes a node and its whole subtree. */
  remove(path: string): void {
    for (const child of this.children(path)) this.remove(path === '' ? child : `${path}/${child}`);
    this.#changes.set(path, null);
  }

  /** Folds another transaction's changes in (a nested Atomic/Sequence step that succeeded). */
  absorb(other: TreeTransaction): void {
    for (const [path, node] of other.#changes) this.#changes.set(path, node);
  }

  /** Forks a child transaction that sees this one's writes. */
  fork(): TreeTransaction {
    const child = new TreeTransaction(this.#tree);
    for (const [path, node] of this.#changes) child.#changes.set(path, node);
    return child;
  }

  /** Writes the changes as one store batch. */
  async commit(): Promise<void> {
    if (this.#changes.size === 0) return;
    await this.#tree.apply(this.#changes, [...this.#changes].map(([path, node]) => (node === null ? deleteOp(TREE_PREFIX + path) : putOp(TREE_PREFIX + path, node))));
    this.#changes.clear();
  }
}

export class DmTree {
  readonly #store: KeyValueStore;
  readonly #nodes = new Map<string, DmNode>();

  private constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** Loads the tree; a damaged node record is dropped from memory (reported), never half-used. */
  static open(store: KeyValueStore, onDamaged?: (path: string) => void): DmTree {
    const tree = new DmTree(store);
    for (const key of store.keys(TREE_PREFIX)) {
      const path = key.slice(TREE_PREFIX.length);
      const bytes = store.get(key);
      let value: unknown;
      try {
        value = bytes && decodeValue(key, bytes);
      } catch {
        value = undefined;
      }
      const node = value as DmNode | undefined;
      if (typeof node === 'object' && node !== null && typeof node.leaf === 'boolean' && typeof node.format === 'string') tree.#nodes.set(path, node);
      else onDamaged?.(path);
    }
    if (!tree.#nodes.has('')) tree.#nodes.set('', { leaf: false, format: 'node', acl: ROOT_ACL, scope: 'permanent' });
    return tree;
  }

  committed(path: string): DmNode | undefined {
    return this.#nodes.get(path);
  }

  entries(): IterableIterator<[string, DmNode]> {
    return this.#nodes.entries();
  }

  begin(): TreeTransaction {
    return new TreeTransaction(this);
  }

  /** Runs `work` in a transaction and commits it (one batch). */
  async change<T>(work: (tx: TreeTransaction) => T): Promise<T> {
    const tx = this.begin();
    const result = work(tx);
    await tx.commit();
    return result;
  }

  /** Store first, then memory: a failed write leaves memory as the store is. */
  async apply(changes: ReadonlyMap<string, DmNode | null>, ops: StoreOp[]): Promise<void> {
    await this.#store.batch(ops);
    for (const [path, node] of changes) {
      if (node === null) this.#nodes.delete(path);
      else this.#nodes.set(path, node);
    }
  }
}
