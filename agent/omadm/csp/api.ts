/**
 * Configuration service providers (CSPs): plugins that own a subtree of the DM tree. The
 * Configuration Manager (commands.ts) checks the ACL first and only then calls a CSP, so a plugin
 * never sees a command the server may not run. See agent/omadm/README.md for writing one.
 */
import type { NodeDescription } from '../ddf.ts';
import type { ValueStream } from '../large-object.ts';
import type { DmNode, DmTree, NodeValue, TreeTransaction } from '../tree.ts';

export interface SeedNode {
  /** Path without `./`, e.g. `DevInfo/DevId`. */
  path: string;
  node: DmNode;
}

export interface ExecContext {
  /** The server running the Exec (its DMAcc ServerID). */
  serverId: string;
  /** Correlator of the Exec (carried back in a Generic Alert). */
  correlator?: string;
  /** The open transaction: an Exec may change nodes (e.g. FUMO State) in the same batch. */
  tx: TreeTransaction;
}

export type WriteOp = 'Add' | 'Replace' | 'Delete';

export interface Csp {
  /** The subtree owned, without `./` (`DevInfo`, `FUMO`, `Vendor/Acme`). */
  readonly root: string;
  /** Nodes created when missing as the tree opens (structure, defaults, read-only values). */
  seed?(): SeedNode[];
  /** The subtree's node description (its DDF, ../ddf.ts), from `root` down; absent = an open subtree. */
  describe?(): NodeDescription;
  /** Live value of a leaf (battery level, firmware version); undefined = the stored value. */
  read?(path: string, node: DmNode): NodeValue | undefined;
  /** Validates a write before it enters the transaction: throw DmStatusError(code) to refuse. */
  check?(op: WriteOp, path: string, node: DmNode | undefined, tx: TreeTransaction): void;
  /**
   * Takes a validated Add/Replace value before it enters the tree and returns the node to store
   * instead (e.g. FUMO PkgData: the bytes go to a staging file, the leaf keeps none of them).
   */
  write?(op: 'Add' | 'Replace', path: string, node: DmNode): Promise<DmNode>;
  /**
   * A leaf whose large objects should not be assembled in memory: the chunks go to the stream
   * (opened after the command's checks, `size` = the declared Size); undefined = assemble as usual.
   * The node is then written without a value (`write` is not called for it).
   */
  stream?(op: 'Add' | 'Replace', path: string, node: DmNode, size: number): Promise<ValueStream | undefined>;
  /** Exec on a node of the subtree: the status (200 done, 202 accepted and reported later, 4xx/5xx). */
  exec?(path: string, data: string | undefined, context: ExecContext): Promise<number> | number;
}

/** Finds the CSP owning a path: the registered root that is the longest prefix. */
export class CspRegistry {
  // Declared and set in the constructor, not a class field: one function fewer in a QuickJS heap.
  private declare readonly csps: Csp[];

  constructor() {
    this.csps = [];
  }

  /** Kept longest root first (equal lengths in registration order), so `owner` finds the longest prefix first. */
  register(csp: Csp): void {
    let at = 0;
    for (const other of this.csps) {
      if (other.root === csp.root) throw new Error(`a CSP already owns ${csp.root}`);
      if (other.root.length >= csp.root.length) at++;
    }
    this.csps.splice(at, 0, csp);
  }

  all(): readonly Csp[] {
    return this.csps;
  }

  owner(path: string): Csp | undefined {
    // Loops here and below, not callbacks: each callback is one more function in a QuickJS heap.
    for (const csp of this.csps) if (path === csp.root || path.startsWith(`${csp.root}/`)) return csp;
    return undefined;
  }
}

/** Builders for seed nodes, so CSPs describe their structure in one line per node. */
export function interior(path: string, acl?: string, scope: DmNode['scope'] = 'permanent'): SeedNode {
  return { path, node: { leaf: false, format: 'node', scope, ...(acl === undefined ? {} : { acl }) } };
}

export function leaf(path: string, value: NodeValue, format = 'chr', acl?: string, scope: DmNode['scope'] = 'permanent'): SeedNode {
  return { path, node: { leaf: true, format, type: 'text/plain', scope, value, ...(acl === undefined ? {} : { acl }) } };
}

/**
 * Leaves `<base>/<name>` of one format, in the record's order: the names are the ones the CSP's
 * description already holds (one string each in a QuickJS heap, not one more per full path).
 */
export function leaves(base: string, values: Record<string, NodeValue>, format?: string): SeedNode[] {
  const nodes: SeedNode[] = [];
  for (const name in values) nodes.push(leaf(`${base}/${name}`, values[name] as NodeValue, format));
  return nodes;
}

/**
 * Creates the nodes every CSP seeds that are missing, one batch per CSP (a CSP's subtree appears
 * whole or not at all; a cut between two leaves the next open to seed the rest); existing nodes
 * keep their state. Per CSP, so a first boot holds one subtree's nodes and records at a time.
 */
export async function seedTree(tree: DmTree, csps: CspRegistry): Promise<void> {
  for (const csp of csps.all()) {
    const tx = tree.begin();
    for (const { path, node } of csp.seed?.() ?? []) if (!tx.has(path)) tx.put(path, node);
    await tx.commit();
  }
}
