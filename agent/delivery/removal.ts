/**
 * Removing a package that no longer conforms (seed 000), as its own small state table: run the
 * uninstall command, report `removeEnd`; once the job is done the package is forgotten (the DB
 * is its own store: the delete follows the job's final transition, package-db.ts). Like a
 * post-install command, an uninstall interrupted by a power cut is reported as interrupted, never run a second time by the same job; the package stays in the DB and the
 * next poll plans its removal again.
 */
import type { MachineTable, StateHandler } from '../machine/index.ts';
import type { StoreOp } from '../store/index.ts';
import type { InstalledPackage } from './package-db.ts';
import type { CommandOutcome, CommandVariables } from './commands.ts';
import type { CommandSpec } from './messages.ts';

export type RemovalState = 'removing' | 'recovering' | 'reporting' | 'finishing' | 'done';
export type RemovalEvent = 'ran' | 'interrupted' | 'reported' | 'finished';

export const removalFlow: MachineTable<RemovalState, RemovalEvent> = {
  name: 'removal',
  version: 1,
  initial: 'removing',
  loopState: 'finishing',
  giveUpState: 'done',
  maxStoreCount: 20,
  // Compact states (../machine/table.ts CompactState), as the pipeline's table.
  states: {
    removing: 'ran>reporting @resume>recovering',
    recovering: 'interrupted>reporting',
    reporting: 'reported>finishing',
    finishing: 'finished>done',
    done: '@final',
  },
};

export interface RemovalJob {
  id: string;
  package: InstalledPackage;
  outcome?: CommandOutcome;
}

/**
 * The removal job's handlers. This module is a lazy chunk (./job-machines.ts builds the machine)
 * and imports no values: what it runs comes in as `run` (a lazy chunk's imports would split the
 * chunks every board loads, and each module costs the QuickJS heap about 1 KB).
 */
export function removalHandlers(options: {
  /** Runs the uninstall command (./commands.ts `runCommand` on the device's exec). */
  run: (command: CommandSpec, variables: CommandVariables) => Promise<CommandOutcome>;
  /** The store ops that queue the `removeEnd` report (committed with the transition). */
  report: (job: RemovalJob) => StoreOp[];
  /** Delivers queued reports (best effort). */
  deliver: () => Promise<unknown>;
}): Partial<Record<RemovalState, StateHandler<RemovalState, RemovalEvent, RemovalJob>>> {
  const { run, report, deliver } = options;
  return {
    removing: async (job) => {
      const command = job.package.uninstall;
      // A package installed without an uninstall command has nothing to run: forgetting it is the removal.
      const outcome: CommandOutcome = command
        ? await run(command, { name: job.package.name, version: job.package.version, jobId: job.id })
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
  };
}
