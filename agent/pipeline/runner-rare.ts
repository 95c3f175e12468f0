/**
 * The pipeline's rare paths (./runner.ts), a lazy chunk: a job that downloads and installs as
 * planned never loads it. Here: a failed download (relocation, another source, corrupt bytes, a
 * retry), a failure before the download, an install interrupted by a power cut.
 * On a QuickJS board each function kept loaded costs its code for the agent's life.
 *
 * It imports nothing at run time but the core (agent.js) and the trust error: a pipeline module it
 * imported would be split from the chunk every family loads (../../scripts/chunk-plan.ts), one more
 * module per cycle. So ./verify.ts's `VerificationError` is told by its name here.
 */
import type { HandlerResult } from '../machine/machine.ts';
import type { StoreOp } from '../store/index.ts';
import type { DownloadResult } from './download.ts';
import type { PipelineEvent } from './flow.ts';
import type { DownloadOutcome, PipelineJob, PipelineMachineOptions } from './runner.ts';
import type { SinkHandle } from './sinks.ts';
import { type TrustGate, trustFailureCode } from './trust-gate.ts';
import { TrustError } from '../trust/errors.ts';

type Job = PipelineJob<unknown>;
type Options = PipelineMachineOptions<unknown>;
type Result = HandlerResult<PipelineEvent, Job>;
type Failure = Extract<DownloadResult, { ok: false }>;

/** A family that names no signed target for its jobs: refused where signed metadata is enforced. */
export function untargeted<J extends { artifact: { name: string } }>(gate: TrustGate, job: J): J {
  if (gate.enforced) throw new TrustError('unknownTarget', `${job.artifact.name}: the family names no signed target for this job`);
  return job;
}

/**
 * A job that failed before its download (locating, no space): the failure is its download outcome.
 * A refusal of ./verify.ts or of the trust gate keeps its own code.
 */
export function failed(job: Job, code: string, error: unknown): Result {
  const message = error instanceof Error ? error.message : String(error);
  const errorCode = error instanceof Error && error.name === 'VerificationError' ? (error as Error & { code: string }).code : error instanceof TrustError ? trustFailureCode(error) : code;
  return { event: 'failed', context: { ...job, download: { ok: false, code: errorCode, message, bytesTransferred: 0, attempts: 0 } } };
}

/** A download that ended without the artifact (not aborted): relocate, drop corrupt bytes, or fail. */
export async function downloadFailed(o: Options, current: Job, result: Failure, sink: SinkHandle): Promise<Result> {
  const download: DownloadOutcome = { ok: false, code: result.code, message: result.message, bytesTransferred: result.bytesTransferred, attempts: result.attempts };
  // A failed source the family can replace (seeds 002/003: the image's other URL) is a relocation too.
  const fallback = ['attemptsExhausted', 'httpStatus'].includes(result.code) && o.hooks.fallback?.(current) === true;
  if (result.code === 'relocate' || fallback) {
    if (current.relocations >= o.settings.maxRelocations) return { event: 'failed', context: { ...current, download } };
    const { location: _expired, progress, ...rest } = current;
    // The new source gets its own attempts; the bytes already verified stay (the digest decides in the end).
    let kept = progress;
    if (progress && fallback) {
      kept = { ...progress, attempts: 0 };
      delete kept.etag;
    }
    return { event: 'relocate', context: { ...rest, ...(kept ? { progress: kept } : {}), relocations: current.relocations + 1 } };
  }
  if (result.code === 'digestMismatch') {
    // Never keep bytes that failed verification: nothing may install them, not even by mistake.
    await sink.truncate(0);
    const { progress: _dropped, ...rest } = current;
    return { event: 'failed', context: { ...rest, download, corruptDownloads: current.corruptDownloads + 1 } };
  }
  return { event: 'failed', context: { ...current, download } };
}

/** After a failed download was reported: a corrupt one is downloaded again (a fresh download event), else the job is abandoned. */
export function retryOrAbandon(o: Options, job: Job, effects: StoreOp[]): Result {
  if (job.download?.code === 'digestMismatch' && job.corruptDownloads <= o.settings.corruptRetries) {
    // New location, new begin/end reports.
    const { progress: _p, location: _l, download: _d, ...rest } = job;
    return { event: 'retry', context: { ...rest, announced: false }, effects };
  }
  return { event: 'abandon', effects };
}

/** Power was lost during the install: repeated only when the family says that is safe. */
export function recoveringInstall(job: Job, o: Options): Result {
  if (o.hooks.installRepeatable) return { event: 'retryInstall' };
  return {
    event: 'interrupted',
    context: { ...job, install: { ok: false, interrupted: true, message: 'power was lost while installing; the install was not repeated' } },
  };
}
