/**
 * What a pull-model package job records, and what the cycle reads back from it: the DB entry a
 * succeeded job stands for, the reason a failed one gives. Split from ./service.ts (which decides
 * which jobs exist and drives them) so the record's shape lives in one place.
 *
 * The job keeps only what it still needs of the manager's instruction (the post-install and
 * uninstall commands, the location token, the delta's URL): name, version, size and digest are
 * the job's artifact, the offered delta is its delta state. A job record sits in the state store
 * (and so in memory) from its creation to its end, a batch of them at once, and it is re-encoded
 * at every checkpoint: the manager's copy of what the artifact already says cost ~20 % of it.
 * Records written before keep the whole instruction, which reads as this one.
 */
import type { PipelineJob } from '../pipeline/runner.ts';
import { redactText } from '../util/redact.ts';
import type { Instruction } from './messages.ts';
import type { InstalledPackage } from './package-db.ts';
import type { RemovalJob } from './removal.ts';

export type PackageAction = 'install' | 'upgrade';

/** The part of the manager's instruction a package job keeps. */
export type JobInstruction = Pick<Instruction, 'postInstall' | 'uninstall' | 'locationToken'> & { delta?: { url: string } };

export interface PackageJobData {
  action: PackageAction;
  optional: boolean;
  instruction: JobInstruction;
}

/** The instruction as the job keeps it. */
export function jobInstruction({ postInstall, uninstall, locationToken, delta }: Instruction): JobInstruction {
  return { postInstall, ...(uninstall ? { uninstall } : {}), locationToken, ...(delta ? { delta: { url: delta.url } } : {}) };
}

/** The DB entry a succeeded package job stands for (step 2 of the hand-over, ./package-db.ts). */
export function installedEntry(job: PipelineJob<PackageJobData>, installedUtcMs: number, keepInstalled: boolean): InstalledPackage {
  const { name, version, digest } = job.artifact;
  const uninstall = job.family.instruction.uninstall;
  return {
    name,
    version,
    digest,
    optional: job.family.optional,
    installedUtcMs,
    ...(uninstall ? { uninstall } : {}),
    jobId: job.id,
    ...(keepInstalled && job.sink.kind === 'staging' ? { artifact: job.sink.name } : {}),
  };
}

/** Why a job failed, for the cycle's summary (redacted: a message can quote a signed URL). */
export function failureReason(context: unknown): string {
  const job = context as Partial<PipelineJob> & Partial<RemovalJob>;
  let reason = 'failed';
  if (job.install && !job.install.ok) reason = job.install.message ?? 'post-install failed';
  else if (job.download && !job.download.ok) reason = `${job.download.code ?? 'download failed'}${job.download.message ? `: ${job.download.message}` : ''}`;
  else if (job.outcome && !job.outcome.ok) reason = job.outcome.message ?? 'uninstall failed';
  return redactText(reason);
}
