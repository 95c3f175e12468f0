/**
 * The DPU's rarely sent commands (./commands.ts), a lazy chunk loaded by the first of them: most
 * sessions (a FUMO cycle: Get, Replace, Exec) send none. Delete, Copy, the Replace of a node's ACL
 * (`?prop=ACL`), the Get of a node property (`?prop=ACL|Format|Type|Name`), checked as
 * commands.ts checks the others (existence, ACL, description, CSP) through the processor's `Checks`,
 * and user interaction alerts.
 */
import type { Item } from '../syncml/model.ts';
import { parseAcl } from './acl.ts';
import { answerStatus, parseAlertOptions, type UserAlert, type UserInteraction } from './alerts.ts';
import { type Checks, textOf } from './commands.ts';
import { DmStatusError } from './errors.ts';
import { type DmNode, normalizePath, type NodeValue, parentOf, type TreeTransaction } from './tree.ts';

export function del(p: Checks, path: string, tx: TreeTransaction): number {
  const node = tx.get(path);
  if (!node) throw new DmStatusError(404, 'no such node');
  p.allowed(tx, path, 'Delete');
  if (node.scope === 'permanent' || path === '') throw new DmStatusError(405, 'permanent node');
  p.described(tx, 'Delete', path, node, true);
  p.csp(path)?.check?.('Delete', path, node, tx);
  tx.remove(path);
  return 200;
}

/** Copy: Get on the source, Add (or Replace when it exists) on the target; leaves only. */
export function copy(p: Checks, sourceUri: string, target: string, tx: TreeTransaction): number {
  const source = normalizePath(sourceUri);
  const node = tx.get(source);
  if (!node) throw new DmStatusError(404, 'no such source node');
  p.allowed(tx, source, 'Get');
  if (!node.leaf) throw new DmStatusError(405, 'only leaves are copied');
  const existing = tx.get(target);
  if (existing) {
    p.allowed(tx, target, 'Replace');
    if (!existing.leaf) throw new DmStatusError(405, 'an interior node has no value');
  } else {
    const parent = parentOf(target) as string;
    p.ensureParent(parent, tx);
    p.allowed(tx, parent, 'Add');
  }
  const copied: DmNode = { ...node, scope: existing?.scope ?? 'dynamic' };
  delete copied.acl;
  if (existing?.acl !== undefined) copied.acl = existing.acl;
  p.described(tx, existing ? 'Replace' : 'Add', target, copied, !existing);
  p.csp(target)?.check?.(existing ? 'Replace' : 'Add', target, copied, tx);
  tx.put(target, copied);
  return 200;
}

/** Replace `<node>?prop=ACL`: the new ACL text must parse (400 otherwise). */
export function replaceAcl(p: Checks, path: string, acl: string, tx: TreeTransaction): number {
  const existing = tx.get(path);
  if (!existing) throw new DmStatusError(404, 'no such node');
  p.allowed(tx, path, 'Replace');
  parseAcl(acl);
  tx.put(path, { ...existing, acl });
  return 200;
}

/** Get `<node>?prop=<name>`: a node property as text. */
export function property(node: DmNode, path: string, prop: string): NodeValue {
  if (prop === 'ACL') return node.acl ?? '';
  if (prop === 'Format') return node.format;
  if (prop === 'Type') return node.type ?? '';
  if (prop === 'Name') return path.slice(path.lastIndexOf('/') + 1);
  throw new DmStatusError(406, 'property not supported');
}

/** A user interaction alert (DM_Protocol 1.2 §10): asked through `ui`; the Status code and the items it carries back. */
export async function userAlert(ui: UserInteraction, code: number, items: readonly Item[]): Promise<{ status: number; items: Item[] }> {
  const alert: UserAlert = {
    code,
    options: parseAlertOptions(textOf(items[0]?.data) ?? ''),
    text: textOf(items[1]?.data) ?? '',
    choices: items.slice(2).map((item) => textOf(item.data) ?? ''),
  };
  const answer = answerStatus(alert, await ui.ask(alert));
  return { status: answer.status, items: answer.values.map((data) => ({ data })) };
}
