/**
 * The DPU's rarely sent commands (./commands.ts), a lazy chunk loaded by the first of them: most
 * sessions (a FUMO cycle: Replace, Exec) send none. The commands that change the tree's structure
 * (Add of a new node with its missing parents, Delete, Copy, the Replace of a node's ACL
 * `?prop=ACL`), checked as commands.ts checks the others (existence, ACL, description, CSP)
 * through the processor's `Checks`, and the server's Alerts (user interaction).
 */
import type { Alert, Item } from '../syncml/model.ts';
import { parseAcl } from './acl.ts';
import { answerStatus, isUserAlert, parseAlertOptions } from './alert-answer.ts';
import type { UserAlert, UserInteraction } from './alerts.ts';
import { type Checks, checkFormat, type Response, type Runner, textOf } from './commands.ts';
import { DmStatusError } from './errors.ts';
import { type DmNode, normalizePath, type NodeValue, parentOf, type TreeTransaction } from './tree.ts';

/** The node an Add creates (`value` already in its format), checked; its missing parents go into `tx`. */
export function added(p: Checks, path: string, format: string, type: string | undefined, value: NodeValue | undefined, tx: TreeTransaction): DmNode {
  if (tx.get(path)) throw new DmStatusError(418, 'node already exists');
  const parent = parentOf(path);
  if (parent === undefined) throw new DmStatusError(405, 'the root exists');
  ensureParent(p, parent, tx);
  p.allowed(tx, parent, 'Add');
  const leaf = format !== 'node';
  const node: DmNode = { leaf, format, scope: 'dynamic', ...(type === undefined ? {} : { type }), ...(leaf && value !== undefined ? { value } : {}) };
  p.described(tx, 'Add', path, node, true);
  if (leaf) checkFormat(format, value);
  p.csp(path)?.check?.('Add', path, node, tx);
  return node;
}

/** Add creates missing interior ancestors (DM_Protocol 1.2 §6.6.1), each checked like an Add. */
function ensureParent(p: Checks, path: string, tx: TreeTransaction): void {
  const node = tx.get(path);
  if (node) {
    if (node.leaf) throw new DmStatusError(405, 'a leaf has no children');
    return;
  }
  const parent = parentOf(path) as string;
  ensureParent(p, parent, tx);
  p.allowed(tx, parent, 'Add');
  const created: DmNode = { leaf: false, format: 'node', scope: 'dynamic' };
  p.described(tx, 'Add', path, created, true);
  p.csp(path)?.check?.('Add', path, created, tx);
  tx.put(path, created);
}

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
    ensureParent(p, parent, tx);
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

/** An Alert from the server: a user interaction alert (1100–1104) is asked through `ui` (its answer in the Status); any other gets 200. */
export async function alert(run: Runner, ui: UserInteraction, command: Alert, msgRef: string, out: Response[]): Promise<number> {
  const code = Number(textOf(command.data));
  const answer = isUserAlert(code) ? await userAlert(ui, code, command.items ?? []) : undefined;
  const status = run.status(command, msgRef, answer?.status ?? 200);
  if (answer && answer.items.length > 0) status.items = answer.items;
  out.push(status);
  return answer?.status ?? 200;
}

/** A user interaction alert (DM_Protocol 1.2 §10): asked through `ui`; the Status code and the items it carries back. */
async function userAlert(ui: UserInteraction, code: number, items: readonly Item[]): Promise<{ status: number; items: Item[] }> {
  const alert: UserAlert = {
    code,
    options: parseAlertOptions(textOf(items[0]?.data) ?? ''),
    text: textOf(items[1]?.data) ?? '',
    choices: items.slice(2).map((item) => textOf(item.data) ?? ''),
  };
  const answer = answerStatus(alert, await ui.ask(alert));
  return { status: answer.status, items: answer.values.map((data) => ({ data })) };
}
