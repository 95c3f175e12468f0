/**
 * Get (DM_Protocol 1.2 §6.6.7), the reading half of the DPU (./commands.ts): a lazy chunk loaded by
 * the first Get. A FUMO cycle (Replace, Exec, the Generic Alert) reads nothing, so its sessions
 * keep this out of the QuickJS heap. A leaf answers its value (a CSP's live one, else the stored
 * one), an interior node its children's names; `?prop=<name>` a node property and `?list=…` the
 * subtree (./list.ts, a lazy chunk of its own).
 */
import type { ItemCommand, Results } from '../syncml/model.ts';
import { utf8Encode } from '../util/bytes.ts';
import type { Checks } from './commands.ts';
import { DmStatusError } from './errors.ts';
import type { ListQuery } from './list.ts';
import type { DmNode, NodeValue, TreeTransaction } from './tree.ts';
import { loadOnce } from '../util/load-once.ts';

/** Get ?list= (./list.ts) is a lazy chunk of its own: most Gets read one node. */
const loadList = loadOnce(() => import('./list.ts'));

/** A leaf's value as a Get answers it: the CSP's live value, else the stored one. */
function valueOf(p: Checks, path: string, node: DmNode): NodeValue {
  return p.csp(path)?.read?.(path, node) ?? node.value ?? '';
}

/** Get `<node>?prop=<name>`: a node property as text. */
function property(node: DmNode, path: string, prop: string): NodeValue {
  if (prop === 'ACL') return node.acl ?? '';
  if (prop === 'Format') return node.format;
  if (prop === 'Type') return node.type ?? '';
  if (prop === 'Name') return path.slice(path.lastIndexOf('/') + 1);
  throw new DmStatusError(406, 'property not supported');
}

/** The Results of a Get of `uri` (normalized `path`, `query` after `?`), checked as every command: existence, ACL, description. */
export async function get(p: Checks, serverId: string, command: ItemCommand, uri: string, path: string, query: string, tx: TreeTransaction, msgRef: string): Promise<Results> {
  const node = tx.get(path);
  if (!node) throw new DmStatusError(404, 'no such node');
  p.allowed(tx, path, 'Get');
  p.described(tx, 'Get', path, node);
  const cmdRef = command.cmdID ?? '0';
  if (query.startsWith('list=')) {
    // Get ?list=Struct|StructData|TNDS: the subtree, readable nodes only.
    const lists = await loadList();
    const list = lists.parseListQuery(query) as ListQuery;
    const context = { tx, serverId, value: (at: string, n: DmNode) => valueOf(p, at, n) };
    if (list.kind !== 'TNDS') return { cmd: 'Results', msgRef, cmdRef, items: lists.listItems(context, path, list.kind === 'StructData') };
    const doc = lists.tnds(context, path, list.properties);
    return { cmd: 'Results', msgRef, cmdRef, items: [{ source: { locURI: uri }, meta: { format: 'xml', type: lists.TNDS_TYPE, size: String(utf8Encode(doc).length) }, data: doc }] };
  }
  let format = node.format;
  let data: NodeValue;
  const prop = query.startsWith('prop=') ? query.slice(5) : undefined;
  if (prop !== undefined) {
    format = 'chr';
    data = property(node, path, prop);
  } else if (query !== '') throw new DmStatusError(406, 'query not supported');
  else if (!node.leaf) data = tx.children(path).join('/');
  else data = valueOf(p, path, node);
  const size = data instanceof Uint8Array ? data.length : utf8Encode(data).length;
  return {
    cmd: 'Results',
    msgRef,
    cmdRef,
    items: [{ source: { locURI: uri }, meta: { format, ...(node.type && prop === undefined ? { type: node.type } : {}), size: String(size) }, data }],
  };
}
