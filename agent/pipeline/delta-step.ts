/**
 * The delta stage of the pipeline's download: when the server offers the artifact as a delta
 * (VCDIFF or bsdiff) against a version the device holds, bring the artifact onto the device from
 * the patch instead of the full download, once, for every family:
 *
 *   pending ─ the source the device holds (active slot, installed package file) has the
 *   │         expected size and SHA-256, checked FIRST (no patch bytes are fetched for a wrong one)
 *   downloading ─ the patch into a staging file (Range resume and checkpoints: ./download.ts)
 *   applying ─ persisted *before* any byte of the target is written; the apply streams the
 *   │         source (random reads) and the patch into the job's sink (the inactive slot, or the
 *   │         staging file) and hashes the result on the way; the result then goes through the
 *   │         pipeline's verify step (./verify.ts) against the *full* artifact's size and digest
 *   applied ─ the pipeline continues as after a verified download (hold, install, report).
 *
 * Anything that goes wrong — no source, a wrong source, a patch that cannot be fetched, a
 * corrupt or unsupported patch, a result with the wrong digest, an apply interrupted more than
 * `MAX_APPLIES` times — falls back to the full artifact, bounded: once per job (phase
 * `fellBack` is final), with the reason kept for the family's status report (`deltaNote`).
 *
 * Power cuts: the apply is not resumed but restarted. The phase `applying` is persisted before
 * the sink is opened; a run that finds it again opens the sink empty (a slot is erased, a staging
 * file truncated) and applies from the start, from the patch already staged. Nothing marks the
 * target good here: a slot becomes bootable only when the image step completes it against the
 * full image's digest, a package is installed only after the verified `downloaded` transition.
 */
import { HalError } from '../../hal/errors.ts';
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import { DeltaError, type DeltaFormat, type RangeReader } from '../../wasm/src/delta-types.ts';
import { type Logger } from '../log.ts';
import { errorMessage, isTransient } from '../util/retry.ts';
import { fromHex } from '../util/bytes.ts';
import { download } from './download.ts';
import { type SinkHandle, SinkError, stagingSink } from './sinks.ts';
import { VerificationError, checkArtifactSize, verifyDigest } from './verify.ts';
import { type DeltaArtifact, type DeltaHooks, type DeltaJob, type DeltaSource, type DeltaState, MAX_APPLIES, patchFileName } from './delta-state.ts';
import type { StepInfo } from '../machine/machine.ts';
import { resolveDeltaPath } from '../trust/delta-path.ts';
import type { PipelineHooks, PipelineJob, PipelineMachineOptions } from './runner.ts';

export type { DeltaArtifact, DeltaHooks, DeltaJob, DeltaNote, DeltaPhase, DeltaSource, DeltaState, HeldSource } from './delta-state.ts';

/** Largest piece of the source read at once to check it (and never more than the board's chunk). */
const SOURCE_PIECE = 256 * 1024;

export interface DeltaStageOptions<J extends DeltaJob> {
  device: Device;
  engines: Engines;
  hooks: DeltaHooks<J>;
  /** Opens the job's sink (`resume: false`: empty). */
  openSink(job: J): Promise<SinkHandle>;
  /** Persists the job (the machine's step.save): before the apply, and at patch checkpoints. */
  save(job: J): Promise<void>;
  download: {
    maxAttempts: number;
    checkpointBytes: number;
    checkpointMs?: number;
    chunkBytes?: number;
    timeoutMs: number;
    byteBudgetFactor: number;
    backoff: { initialMs: number; maxMs: number; factor: number };
  };
  /** Most memory one VCDIFF window may take (the board's budget; default: the engine's). */
  windowBudget?: number;
  signal?: AbortSignalLike;
  log: Logger;
  onProgress?(offset: number, size: number): void;
}

export type DeltaStageResult<J> =
  | { kind: 'applied'; job: J }
  /** The full artifact comes next (the job says why, phase `fellBack`, and is saved). */
  | { kind: 'fellBack'; job: J }
  | { kind: 'suspend'; reason: string; job: J };

/**
 * The pipeline's `downloading` state with a delta to try (./runner.ts): the stage with the job's
 * hooks, settings and checkpoints. Here rather than in the runner, so a cycle without a delta
 * loads none of it.
 */
export function runPipelineDelta<F>(o: PipelineMachineOptions<F>, job: PipelineJob<F>, step: StepInfo<string, PipelineJob<F>>, openSink: (job: PipelineJob<F>) => Promise<SinkHandle>): Promise<DeltaStageResult<PipelineJob<F>>> {
  const { hooks } = o;
  return runDeltaStage(
    {
      device: o.device,
      engines: o.engines,
      hooks: deltaHooksFor(hooks, hooks.delta as DeltaHooks<PipelineJob<F>>, job.location as { url: string }),
      openSink,
      save: (held) => step.save(held),
      download: o.settings,
      ...(o.signal ? { signal: o.signal } : {}),
      log: o.log,
      onProgress: (offset, size) => hooks.onProgress?.(job, offset, size),
    },
    job,
  );
}

/**
 * The delta hooks of one job: a delta named by signed metadata is found next to the artifact
 * (its path resolved against the artifact's URL, with the artifact's request headers: same
 * server); one the family's message offered is where the family says.
 */
function deltaHooksFor<F>(hooks: PipelineHooks<F>, delta: DeltaHooks<PipelineJob<F>>, location: { url: string }): DeltaHooks<PipelineJob<F>> {
  return {
    ...delta,
    locate: async (job) => {
      const path = job.delta?.artifact.path;
      if (path === undefined) {
        if (!delta.locate) throw new Error('the family offers no delta location');
        return delta.locate(job);
      }
      const headers = hooks.requestHeaders ? await hooks.requestHeaders(job, location.url) : undefined;
      return { url: resolveDeltaPath(location.url, path), ...(headers ? { headers } : {}) };
    },
  };
}

/** Runs the delta from wherever its persisted phase says; see the module comment. */
export async function runDeltaStage<J extends DeltaJob>(options: DeltaStageOptions<J>, start: J): Promise<DeltaStageResult<J>> {
  let job = start;
  const state = (): DeltaState => job.delta as DeltaState;
  const update = (patch: Partial<DeltaState>): J => (job = { ...job, delta: { ...state(), ...patch } });
  const fallBack = async (code: string, message: string): Promise<DeltaStageResult<J>> => {
    options.log.warn('delta update failed: falling back to the full artifact', { job: job.id, code, message });
    const { progress: _dropped, ...rest } = state();
    job = { ...job, delta: { ...rest, phase: 'fellBack', failure: { code, message: message.slice(0, 512) } } };
    await options.save(job);
    await options.device.staging.remove(patchFileName(job));
    return { kind: 'fellBack', job };
  };

  if (state().phase === 'pending') {
    const source = await options.hooks.source(job);
    let problem: { code: string; message: string } | undefined;
    try {
      problem = await checkSource(options.engines, source, state().artifact, Math.min(SOURCE_PIECE, options.download.chunkBytes ?? SOURCE_PIECE));
    } finally {
      await source?.close?.();
    }
    if (problem) return fallBack(problem.code, problem.message);
    await options.save(update({ phase: 'downloading' }));
  }

  if (state().phase === 'downloading') {
    const fetched = await downloadPatch(options, job, async (next) => {
      job = next;
      await options.save(job);
    });
    if (fetched.kind === 'suspend') return { ...fetched, job };
    if (fetched.kind === 'failed') return fallBack(fetched.code, fetched.message);
    job = fetched.job;
    // From here a cut restarts the apply, never continues a half-written target.
    await options.save(update({ phase: 'applying', applies: 0 }));
  }

  if (state().phase !== 'applying') return fallBack('badState', `delta phase ${state().phase} cannot continue`);
  if (state().applies >= MAX_APPLIES) return fallBack('interrupted', `the apply was interrupted ${state().applies} times`);
  await options.save(update({ applies: state().applies + 1 }));
  try {
    await applyPatch(options, job);
  } catch (error) {
    if (error instanceof DeltaError || error instanceof VerificationError || error instanceof SinkError) return fallBack(error.code, error.message);
    // No room for the result (staging reserve): the full artifact's own check decides about it.
    if (error instanceof HalError && error.code === 'noSpace') return fallBack('noSpace', error.message);
    throw error; // the device itself failed (a power cut, I/O): the machine resumes and applies again
  }
  return { kind: 'applied', job: update({ phase: 'applied' }) };
}

/**
 * The source's size and digest, hashed in pieces of at most `pieceBytes` (a 256 KiB read was half
 * the small QuickJS board's heap): undefined when it is the one the patch needs.
 */
async function checkSource(engines: Engines, source: DeltaSource | undefined, artifact: DeltaArtifact, pieceBytes: number): Promise<{ code: string; message: string } | undefined> {
  if (!source) return { code: 'noSource', message: `the device does not hold ${artifact.sourceVersion}, the delta's source` };
  if (source.size < artifact.sourceSize) return { code: 'sourceMismatch', message: `source holds ${source.size} bytes, the delta needs ${artifact.sourceSize}` };
  const hash = engines.createHash('sha256');
  for (let offset = 0; offset < artifact.sourceSize; ) {
    const piece = await source.read(offset, Math.min(pieceBytes, artifact.sourceSize - offset));
    if (piece.length === 0) return { code: 'sourceMismatch', message: `source ends at ${offset} of ${artifact.sourceSize} bytes` };
    hash.update(piece);
    offset += piece.length;
  }
  try {
    verifyDigest(artifact.sourceSha256, hash.digest());
  } catch {
    return { code: 'sourceMismatch', message: `the source the device holds is not ${artifact.sourceVersion} (SHA-256 differs)` };
  }
  return undefined;
}

type PatchResult<J> = { kind: 'done'; job: J } | { kind: 'failed'; code: string; message: string } | { kind: 'suspend'; reason: string };

async function downloadPatch<J extends DeltaJob>(options: DeltaStageOptions<J>, job: J, checkpoint: (job: J) => Promise<void>): Promise<PatchResult<J>> {
  const { device, engines } = options;
  const state = job.delta as DeltaState;
  const patch = state.artifact;
  const settings = options.download;
  let location: { url: string; headers?: Record<string, string> };
  try {
    if (!options.hooks.locate) throw new Error('the family offers no delta location');
    location = await options.hooks.locate(job);
    // Room for the patch, and for the result too when it goes to staging (a package).
    const available = await device.staging.available();
    const result = job.sink.kind === 'staging' ? job.artifact.size : 0;
    checkArtifactSize(patch.size + result, { available: available + (state.progress?.offset ?? 0) });
  } catch (error) {
    if (isTransient(error)) return { kind: 'suspend', reason: 'network' };
    return { kind: 'failed', code: error instanceof VerificationError ? error.code : 'locateFailed', message: errorMessage(error) };
  }
  const sink = await stagingSink(device.staging, patchFileName(job)).open({ resume: state.progress !== undefined });
  let current = job;
  try {
    const result = await download({
      http: device.net.http,
      clock: device.clock,
      hasher: { create: (hashState) => engines.createHash('sha256', hashState) },
      url: location.url,
      size: patch.size,
      digest: patch.sha256,
      sink,
      ...(state.progress ? { resumeFrom: state.progress } : {}),
      checkpointBytes: settings.checkpointBytes,
      ...(settings.checkpointMs !== undefined ? { checkpointMs: settings.checkpointMs } : {}),
      ...(settings.chunkBytes !== undefined ? { chunkBytes: settings.chunkBytes } : {}),
      checkpoint: async (progress) => {
        current = { ...current, delta: { ...(current.delta as DeltaState), progress } };
        await checkpoint(current);
      },
      maxAttempts: settings.maxAttempts,
      byteBudget: Math.max(patch.size * settings.byteBudgetFactor, patch.size + settings.checkpointBytes),
      timeoutMs: settings.timeoutMs,
      backoff: settings.backoff,
      random01: () => (device.random.bytes(1)[0] as number) / 256,
      ...(location.headers ? { headers: location.headers } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const counted = { ...(current.delta as DeltaState), bytesTransferred: result.bytesTransferred, attempts: result.attempts };
    current = { ...current, delta: counted };
    if (result.ok) return { kind: 'done', job: current };
    if (result.code === 'aborted') {
      await checkpoint(current);
      return { kind: 'suspend', reason: 'aborted' };
    }
    // Counted for the report: the fallback keeps these numbers.
    await checkpoint(current);
    return { kind: 'failed', code: result.code, message: result.message };
  } finally {
    await sink.close();
  }
}

/** Streams source + patch into the job's (emptied) sink, then verifies the result as the download would. */
async function applyPatch<J extends DeltaJob>(options: DeltaStageOptions<J>, job: J): Promise<void> {
  const { device, engines } = options;
  const state = job.delta as DeltaState;
  const source = await options.hooks.source(job);
  if (!source) throw new DeltaError('sourceMismatch', 'the delta source is gone');
  let patchFile;
  try {
    patchFile = await device.staging.open({ name: patchFileName(job) });
  } catch (error) {
    await source.close?.();
    throw new DeltaError('truncated', `the staged patch cannot be opened: ${errorMessage(error)}`);
  }
  let sink: SinkHandle | undefined;
  try {
    const target = await options.openSink(job);
    sink = target;
    await target.reserve?.(job.artifact.size);
    let written = 0;
    const result = await engines.applyDelta(
      source.read,
      (offset, length) => (patchFile as { read(o: number, l: number): Promise<Uint8Array> }).read(offset, length),
      async (chunk) => {
        if (written + chunk.length > job.artifact.size)
          throw new VerificationError('sizeMismatch', `the delta produces more than the artifact's ${job.artifact.size} bytes`);
        await target.write(written, chunk);
        written += chunk.length;
        options.onProgress?.(written, job.artifact.size);
      },
      {
        format: state.artifact.format,
        // Checked again: the source must still be the one checked before the patch was fetched.
        sourceSha256: fromHex(state.artifact.sourceSha256),
        sourceSize: state.artifact.sourceSize,
        ...(options.windowBudget !== undefined ? { windowBudget: options.windowBudget } : {}),
      },
    );
    // The pipeline's verify step, against the full artifact's size and digest.
    if (result.bytesWritten !== job.artifact.size)
      throw new VerificationError('sizeMismatch', `the delta produced ${result.bytesWritten} bytes, the artifact has ${job.artifact.size}`);
    verifyDigest(job.artifact.digest, result.sha256);
    await target.sync();
  } finally {
    await sink?.close();
    await patchFile.close();
    await source.close?.();
  }
}
