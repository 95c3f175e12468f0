/**
 * Removing a package that no longer conforms (seed 000), as its own small state table: run the
 * uninstall command, report `removeEnd`; once the job is done the package is forgotten (the DB
 * is its own store: the delete follows the job's final transition, package-db.ts). Like a
 * post-install command, an uninstall interrupted by a power cut is reported as interrupted, never run a second time by the same job; the package stays in the DB and the
 * next poll plans its removal again.
 */
import type { Exec } from '../../hal/types.ts';
import { type MachineTable, StateMachine } from '../machine/index.ts';
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { type Logger, logTransitions } from '../log.ts';
import type { InstalledPackage } from './package-db.ts';
import { runCommand, type CommandOutcome } from './commands.ts';

type RemovalState = 'removing' | 'recovering' | 'reporting' | 'finishing' | 'done';
type RemovalEvent = 'ran' | 'interrupted' | 'reported' | 'finished';

export const removalFlow: MachineTable<RemovalState, RemovalEvent> = {
  name: 'removal',
  version: 1,
  initial: 'removing',
  loopState: 'finishing',
  giveUpState: 'done',
  maxStoreCount: 20,
  states: {
    removing: { on: { ran: 'reporting' }, resume: 'recovering' },
    recovering: { on: { interrupted: 'reporting' } },
    reporting: { on: { reported: 'finishing' } },
    finishing: { on: { finished: 'done' } },
    done: { final: true },
  },
};

export interface RemovalJob {
  id: string;
  package: InstalledPackage;
  outcome?: CommandOutcome;
}

export function createRemovalMachine(options: {
  store: KeyValueStore;
  key: string;
  exec: Exec;
  /** The store ops that queue the `removeEnd` report (committed with the transition). */
  report: (job: RemovalJob) => StoreOp[];
  /** Delivers queued reports (best effort). */
  deliver: () => Promise<unknown>;
  log: Logger;
}): StateMachine<RemovalState, RemovalEvent, RemovalJob> {
  const { exec, report, deliver } = options;
  return new StateMachine<RemovalState, RemovalEvent, RemovalJob>({
    table: removalFlow,
    store: options.store,
    key: options.key,
    onTransition: logTransitions(options.log, 'delivery', options.key),
    handlers: {
      removing: async (job) => {
        const command = job.package.uninstall;
        // A package installed without an uninstall command has nothing to run: forgetting it is the removal.
        const outcome: CommandOutcome = command
          ? await runCommand(exec, command, { name: job.package.name, version: job.package.version, jobId: job.id })
          : { ok: true, output: 'no uninstall command: package forgotten' };
        return { event: 'ran', context: { ...job, outcome } };
      },
      recovering: async (job) => ({
        event: 'interrupted',
        context: { ...job, outcome: { ok: false, interrupted: true, message: 'power was lost while the uninstall command ran; it was not repeated' } },
      }),
      reporting: async (job) => ({ event: 'reported', effects: report(job) }),
      finishing: async (job) => {
        await deliver();
        return { event: 'finished' };
      },
    },
  });
}
