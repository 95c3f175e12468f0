/**
 * Atomic and Sequence (DM_Protocol 1.2 §6.6.3, §6.6.11), the lazy part of the DPU (./commands.ts,
 * loaded by the first container: most sessions send none). Atomic is all or nothing: its commands
 * run in a child transaction that is absorbed only when every one succeeded; otherwise the
 * container answers 507, the commands that ran 216 and the ones after the failure 215. A Sequence
 * runs its commands in order, each step in its own fork, kept when it succeeded.
 */
import type { Command, Container, ItemCommand, Status } from '../syncml/model.ts';
import type { Response, Runner } from './commands.ts';
import type { TreeTransaction } from './tree.ts';

const succeeded = (code: number): boolean => code >= 200 && code < 300;

function notExecuted(run: Runner, command: Command, msgRef: string): Status {
  const items = (command as ItemCommand).items;
  const target = items?.[0]?.target?.locURI;
  return run.status(command, msgRef, 215, command.cmd === 'Alert' ? undefined : target);
}

/** All or nothing: run in a child transaction; any failure discards it (one batch or none). */
export async function atomic(run: Runner, command: Container, msgRef: string, tx: TreeTransaction, out: Response[]): Promise<number> {
  const child = tx.fork();
  const own = run.status(command, msgRef, 200);
  out.push(own);
  const inner: Response[] = [];
  let failed = false;
  const executed: Status[] = [];
  for (const sub of command.commands ?? []) {
    if (failed) {
      inner.push(notExecuted(run, sub, msgRef));
      continue;
    }
    const before = inner.length;
    const code = await run.command(sub, msgRef, child, inner);
    if (!succeeded(code)) failed = true;
    else for (const r of inner.slice(before)) if (r.cmd === 'Status') executed.push(r);
  }
  if (failed) {
    for (const status of executed) status.data = '216';
    own.data = '507';
    for (const r of inner) if (r.cmd !== 'Results') out.push(r);
    return 507;
  }
  tx.absorb(child);
  out.push(...inner);
  return 200;
}

export async function sequence(run: Runner, command: Container, msgRef: string, tx: TreeTransaction, out: Response[]): Promise<number> {
  out.push(run.status(command, msgRef, 200));
  for (const sub of command.commands ?? []) {
    const step = tx.fork();
    const code = await run.command(sub, msgRef, step, out);
    if (succeeded(code)) tx.absorb(step);
  }
  return 200;
}
