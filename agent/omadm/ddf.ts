/**
 * Node descriptions (DM_TND 1.2 §7, the DDF's content as data): per node the commands it supports
 * at all (AccessType), its formats (DFFormat), MIME types (DFType), how often it may occur
 * (Occurrence) and, for an interior node, which children it may have (`*` = an unnamed `<x>`
 * node). The DPU checks a command against them AFTER the ACL (who may) and BEFORE a CSP (what the
 * plugin accepts):
 *  - a child the description does not list cannot be added: 405 (as the AOSP engine answers);
 *  - a command outside AccessType: 405; a format or type outside DFFormat / DFType: 415;
 *  - an Add beyond the maximum occurrence, a Delete below the minimum: 405.
 * The root's children are the registered CSPs' roots: a server cannot grow top-level subtrees no
 * plugin owns. A CSP without `describe()` keeps its subtree open (anything it `check`s passes).
 */
import type { AclCommand } from './acl.ts';
import type { Csp, CspRegistry } from './csp/api.ts';
import { DmStatusError } from './errors.ts';
import type { DmNode, TreeTransaction } from './tree.ts';

export type AccessType = AclCommand | 'Copy';

export interface NodeDescription {
  access: readonly AccessType[];
  /** DFFormat: `node` for interior nodes; a leaf may allow several (`chr`, `int`, …). */
  formats: readonly string[];
  /** DFType: accepted MIME types of a leaf; absent = any. */
  types?: readonly string[];
  /** Occurrence: [min, max] (One = [1, 1], ZeroOrMore = [0, Infinity], ZeroOrN = [0, N]). */
  occurs: readonly [number, number];
  /** Children by name; `*` describes unnamed (`<x>`) children. Absent on a leaf. */
  children?: Readonly<Record<string, NodeDescription>>;
  /** An interior node whose unlisted children are not described (an extension area). */
  open?: boolean;
}

export const ONE: readonly [number, number] = [1, 1];
export const ZERO_OR_ONE: readonly [number, number] = [0, 1];
export const ZERO_OR_MORE: readonly [number, number] = [0, Number.POSITIVE_INFINITY];

const NODE_FORMATS: readonly string[] = ['node'];

/** Builders, so a CSP's description reads like its DDF. */
export function describeInterior(access: readonly AccessType[], children: Record<string, NodeDescription>, occurs = ONE, open = false): NodeDescription {
  return { access, formats: NODE_FORMATS, occurs, children, ...(open ? { open } : {}) };
}

export function describeLeaf(access: readonly AccessType[], formats: string | readonly string[], occurs = ONE, types?: readonly string[]): NodeDescription {
  return { access, formats: typeof formats === 'string' ? [formats] : formats, occurs, ...(types ? { types } : {}) };
}

/** The root (DM_TND: Get only; its children are the CSPs'), and an interior node on the way to a CSP's root. */
const ROOT: NodeDescription = { access: ['Get'], formats: NODE_FORMATS, occurs: ONE, children: {} };
const PASSAGE: NodeDescription = { access: ['Get', 'Add'], formats: NODE_FORMATS, occurs: ZERO_OR_ONE, children: {} };

/** What is known of a path: its description, `open` (no description applies) or `unlisted`. */
export type Described = { kind: 'described'; description: NodeDescription; parent?: NodeDescription; name: string } | { kind: 'open' } | { kind: 'unlisted' };

/** Finds the description of `path` from the CSP that owns it (or the root's). */
export function describe(csps: CspRegistry, path: string): Described {
  if (path === '') return { kind: 'described', description: ROOT, name: '' };
  const owner: Csp | undefined = csps.owner(path);
  if (!owner) {
    // Not owned: only the interior nodes leading to a nested CSP root (`Vendor` of `Vendor/Acme`) exist.
    let onTheWay = false;
    for (const csp of csps.all()) onTheWay ||= csp.root.startsWith(`${path}/`);
    return onTheWay ? { kind: 'described', description: PASSAGE, name: path.slice(path.lastIndexOf('/') + 1) } : { kind: 'unlisted' };
  }
  const top = owner.describe?.();
  if (!top) return { kind: 'open' };
  let description = top;
  let parent: NodeDescription | undefined;
  let name = owner.root.slice(owner.root.lastIndexOf('/') + 1);
  // Both non-empty here (the root returned above, a CSP root is never empty).
  for (const segment of path.split('/').slice(owner.root.split('/').length)) {
    const child = description.children?.[segment] ?? description.children?.['*'];
    if (!child) return description.open ? { kind: 'open' } : { kind: 'unlisted' };
    parent = description;
    description = child;
    name = segment;
  }
  return { kind: 'described', description, name, ...(parent ? { parent } : {}) };
}

/** How many siblings share the description `name` resolves to (named: itself; `*`: all unnamed ones). */
function occurrences(tx: TreeTransaction, path: string, parentPath: string, parent: NodeDescription | undefined, name: string): number {
  const named = parent?.children;
  if (!parent || named?.[name] !== undefined) return tx.has(path) ? 1 : 0;
  let count = 0;
  for (const sibling of tx.children(parentPath)) if (named?.[sibling] === undefined) count++;
  return count;
}

/**
 * Checks one command on `path` against the descriptions; throws DmStatusError (405 / 415).
 * `node` is the node as it would be written (Add, Replace, Copy) or as it is (Get, Delete, Exec).
 */
export function checkDescription(csps: CspRegistry, tx: TreeTransaction, op: AccessType, path: string, node: DmNode | undefined, parentPath?: string): void {
  const found = describe(csps, path);
  if (found.kind === 'open') return;
  if (found.kind === 'unlisted') {
    // Nodes that exist without a description (written before one applied) stay readable and removable.
    if (op === 'Add') throw new DmStatusError(405, 'the node description has no such child');
    return;
  }
  const { description, parent, name } = found;
  if (!description.access.includes(op)) throw new DmStatusError(405, `${op} not supported by this node`);
  if (node && (op === 'Add' || op === 'Replace' || op === 'Copy')) {
    if (!description.formats.includes(node.format)) throw new DmStatusError(415, `format ${node.format} not accepted here (${description.formats.join('|')})`);
    if (description.types && node.type !== undefined && node.type !== '' && !description.types.includes(node.type)) throw new DmStatusError(415, `type ${node.type} not accepted here`);
  }
  if (parentPath === undefined) return;
  if (op === 'Add' && occurrences(tx, path, parentPath, parent, name) >= description.occurs[1]) throw new DmStatusError(405, 'the node occurs as often as its description allows');
  if (op === 'Delete' && occurrences(tx, path, parentPath, parent, name) <= description.occurs[0]) throw new DmStatusError(405, 'the node description requires it');
}
