/**
 * Get with `?list=…` (DM_Protocol 1.2 §6.6.? / DM_TND 1.2 §9): the subtree under the target,
 *  - `Struct`: one Results item per node (LocURI, Format, Type), no data;
 *  - `StructData`: the same, leaves with their values;
 *  - `TNDS[+ACL][+Format][+Type][+Value][+Size]…`: one item holding the subtree as a Tree and Node
 *    Description Serialization document (`application/vnd.syncml.dmtnds+xml`).
 * Nodes the server may not Get (ACL, inherited as always) are left out with their subtrees, so
 * a listing never shows what a plain Get would refuse (DMAcc secrets stay unreadable).
 */
import type { Item } from '../syncml/model.ts';
import { escapeXmlText } from '../syncml/text.ts';
import { toBase64, utf8Encode } from '../util/bytes.ts';
import { type AclCommand, aclAllows } from './acl.ts';
import { DmStatusError } from './errors.ts';
import { type DmNode, type NodeValue, type TreeTransaction, uriOf } from './tree.ts';

export const TNDS_TYPE = 'application/vnd.syncml.dmtnds+xml';
const TNDS_PROPERTIES = new Set(['ACL', 'Format', 'Type', 'Value', 'Size', 'Name', 'Title', 'TStamp', 'VerNo']);

export type ListQuery = { kind: 'Struct' | 'StructData' } | { kind: 'TNDS'; properties: Set<string> };

export interface ListContext {
  tx: TreeTransaction;
  serverId: string;
  /** A leaf's value as a Get would answer it (a CSP's live value or the stored one). */
  value(path: string, node: DmNode): NodeValue;
}

/** Parses the query after `?`; undefined when it is not a list query. Unknown lists: 406. */
export function parseListQuery(query: string): ListQuery | undefined {
  if (!query.startsWith('list=')) return undefined;
  const [kind, ...properties] = query.slice(5).split('+');
  if (kind === 'Struct' || kind === 'StructData') {
    if (properties.length > 0) throw new DmStatusError(406, `list=${kind} takes no properties`);
    return { kind };
  }
  if (kind !== 'TNDS') throw new DmStatusError(406, `list=${kind} not supported`);
  for (const p of properties) if (!TNDS_PROPERTIES.has(p)) throw new DmStatusError(406, `TNDS property ${p} not supported`);
  return { kind, properties: new Set(properties) };
}

function child(path: string, name: string): string {
  return path === '' ? name : `${path}/${name}`;
}

/** The readable nodes of the subtree, depth first, parents before children. */
function* walk(context: ListContext, path: string): Generator<[string, DmNode]> {
  const node = context.tx.get(path);
  if (!node || !readable(context, path)) return;
  yield [path, node];
  if (!node.leaf) for (const name of context.tx.children(path)) yield* walk(context, child(path, name));
}

function readable(context: ListContext, path: string, command: AclCommand = 'Get'): boolean {
  return aclAllows(context.tx.effectiveAcl(path), command, context.serverId);
}

function sizeOf(value: NodeValue): number {
  return value instanceof Uint8Array ? value.length : utf8Encode(value).length;
}

/** Struct / StructData: one item per node. */
export function listItems(context: ListContext, path: string, withData: boolean): Item[] {
  const items: Item[] = [];
  for (const [at, node] of walk(context, path)) {
    const meta = { format: node.format, ...(node.type ? { type: node.type } : {}) };
    if (withData && node.leaf) {
      const value = context.value(at, node);
      items.push({ source: { locURI: uriOf(at) }, meta: { ...meta, size: String(sizeOf(value)) }, data: value });
    } else items.push({ source: { locURI: uriOf(at) }, meta });
  }
  return items;
}

/** TNDS: the subtree as one MgmtTree document. */
export function tnds(context: ListContext, path: string, properties: ReadonlySet<string>): string {
  const nodeXml = (at: string, node: DmNode): string => {
    const name = at === '' ? '.' : at.slice(at.lastIndexOf('/') + 1);
    const parent = at.includes('/') ? uriOf(at.slice(0, at.lastIndexOf('/'))) : at === '' ? undefined : '.';
    const rt: string[] = [];
    if (properties.has('ACL')) rt.push(`<ACL>${escapeXmlText(node.acl ?? '')}</ACL>`);
    if (properties.has('Format')) rt.push(`<Format><${node.format}/></Format>`);
    if (properties.has('Type') && node.type) rt.push(`<Type><MIME>${escapeXmlText(node.type)}</MIME></Type>`);
    let value = '';
    if (node.leaf && (properties.has('Value') || properties.has('Size'))) {
      const v = context.value(at, node);
      if (properties.has('Size')) rt.push(`<Size>${sizeOf(v)}</Size>`);
      if (properties.has('Value')) value = `<Value>${escapeXmlText(v instanceof Uint8Array ? toBase64(v) : v)}</Value>`;
    }
    const children = node.leaf ? '' : context.tx.children(at).map((n) => subtree(child(at, n))).join('');
    return `<Node><NodeName>${escapeXmlText(name)}</NodeName>${parent !== undefined && at === path ? `<Path>${escapeXmlText(parent)}</Path>` : ''}${rt.length > 0 ? `<RTProperties>${rt.join('')}</RTProperties>` : ''}${value}${children}</Node>`;
  };
  const subtree = (at: string): string => {
    const node = context.tx.get(at);
    return node && readable(context, at) ? nodeXml(at, node) : '';
  };
  return `<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>${subtree(path)}</MgmtTree>`;
}
