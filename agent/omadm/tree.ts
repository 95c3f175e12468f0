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
  // Declared and set in the constructor, not class fields (see DmSession): fewer functions and
  // closure variables in a QuickJS heap.
  private declare readonly tree: DmTree;
  private declare readonly changes: Map<string, DmNode | null>;

  constructor(tree: DmTree) {
    this.tree = tree;
    this.changes = new Map();
  }

  get(path: string): DmNode | undefined {
    const changed = this.changes.get(path);
    if (changed !== undefined) return changed ?? undefined;
    return this.tree.committed(path);
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /** Direct children names, sorted. */
  children(path: string): string[] {
    const prefix = path === '' ? '' : `${path}/`;
    const names = new Set<string>();
    // Committed nodes first (paths only: the tree keeps no decoded copy), then this
    // transaction's changes over them (null = removed).
    for (const key of [...this.tree.paths(), ...this.changes.keys()]) {
      const name = key.slice(prefix.length);
      if (key === '' || !key.startsWith(prefix) || name.includes('/')) continue;
      if (!this.changes.has(key) || this.changes.get(key) !== null) names.add(name);
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
    this.changes.set(path, { ...node });
  }

  /** Removes a node and its whole subtree. */
  remove(path: string): void {
    for (const child of this.children(path)) this.remove(path === '' ? child : `${path}/${child}`);
    this.changes.set(path, null);
  }

  /** Folds another transaction's changes in (a nested Atomic/Sequence step that succeeded). */
  absorb(other: TreeTransaction): void {
    for (const [path, node] of other.changes) this.changes.set(path, node);
  }

  /** Forks a child transaction that sees this one's writes. */
  fork(): TreeTransaction {
    const child = new TreeTransaction(this.tree);
    for (const [path, node] of this.changes) child.changes.set(path, node);
    return child;
  }

  /** Writes the changes as one store batch. */
  async commit(): Promise<void> {
    if (this.changes.size === 0) return;
    const ops: StoreOp[] = [];
    for (const [path, node] of this.changes) ops.push(node === null ? deleteOp(TREE_PREFIX + path) : putOp(TREE_PREFIX + path, node));
    await this.tree.apply(this.changes, ops);
    this.changes.clear();
  }
}

/** The root when the store has none yet: interior, permanent, the default ACL. */
const rootNode = (): DmNode => ({ leaf: false, format: 'node', acl: ROOT_ACL, scope: 'permanent' });

/**
 * The committed tree is the store's records, decoded when read: no decoded copy is kept beside the
 * store's bytes (in QuickJS that copy was ~5 KB held for the agent's whole life, through every FUMO
 * download). The store already holds every value in memory; a read is one CBOR decode of one node.
 */
export class DmTree {
  private declare readonly store: KeyValueStore;
  /**
   * Records found damaged when the tree was opened: treated as absent until rewritten. Created
   * with the first one only: a healthy tree (the usual case) holds no Set for the agent's life.
   */
  private declare damaged: Set<string> | undefined;

  private constructor(store: KeyValueStore) {
    this.store = store;
    this.damaged = undefined;
  }

  /** Opens the tree; a damaged node record is never used (reported, and read as absent). */
  static open(store: KeyValueStore, onDamaged?: (path: string) => void): DmTree {
    const tree = new DmTree(store);
    for (const key of store.keys(TREE_PREFIX)) {
      const path = key.slice(TREE_PREFIX.length);
      if (tree.read(path) !== undefined) continue;
      (tree.damaged ??= new Set()).add(path);
      onDamaged?.(path);
    }
    return tree;
  }

  private read(path: string): DmNode | undefined {
    const key = TREE_PREFIX + path;
    const bytes = this.store.get(key);
    if (!bytes) return undefined;
    let value: unknown;
    try {
      value = decodeValue(key, bytes);
    } catch {
      return undefined;
    }
    const node = value as DmNode | undefined;
    return typeof node === 'object' && node !== null && typeof node.leaf === 'boolean' && typeof node.format === 'string' ? node : undefined;
  }

  committed(path: string): DmNode | undefined {
    if (this.damaged?.has(path)) return undefined;
    return this.read(path) ?? (path === '' ? rootNode() : undefined);
  }

  paths(): string[] {
    const paths = [''];
    for (const key of this.store.keys(TREE_PREFIX)) {
      const path = key.slice(TREE_PREFIX.length);
      if (path !== '' && !this.damaged?.has(path)) paths.push(path);
    }
    return paths;
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

  /** One store batch: what it rewrote or removed is no longer damaged. */
  async apply(changes: ReadonlyMap<string, DmNode | null>, ops: StoreOp[]): Promise<void> {
    await this.store.batch(ops);
    if (this.damaged) for (const path of changes.keys()) this.damaged.delete(path);
  }
}
