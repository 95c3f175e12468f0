/**
 * Runs one artifact job through the pipeline table (./flow.ts). What differs between protocol
 * families — how to get the URL, what to report, whether and how long to hold, what "install"
 * means, what to record at the end — comes in as `PipelineHooks`; everything else (resumable
 * verified download, checkpoints, retries, the hold, queued reports, cleanup, exactly-once
 * install) is here once. An image is installed by the image step (./image-step.ts) around this.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import { type HandlerResult, type StateHandler, type StepInfo, StateMachine } from '../machine/machine.ts';
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { type Logger, logTransitions } from '../log.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { isTransient } from '../util/retry.ts';
import { type DownloadProgress, download } from './download.ts';
import { type DeltaHooks, type DeltaState, newDeltaState, patchFileName } from './delta-state.ts';
import { type PipelineEvent, type PipelineState, pipelineFlow } from './flow.ts';
import type { HoldDecision, HoldRecord } from './hold.ts';
import { type Sink, type SinkHandle, stagingSink } from './sinks.ts';
import type { slotSink } from './slot-sink.ts';
import { checkArtifactSize, checkDownloadUrl } from './verify.ts';
import { type TrustGate, type TrustRequest, type TrustedArtifact, signedDeltaArtifact } from './trust-gate.ts';
import { loadOnce } from '../util/load-once.ts';

/** The delta stage, imported when a job first has a delta to run (a lazy chunk: most cycles have none). */
const deltaStage = loadOnce(() => import('./delta-step.ts'));
/**
 * The rare paths (failures, retries, interrupted installs): a lazy chunk a planned job never loads.
 * Imported where needed, not through `loadOnce`: a rare path may pay the loader's trip, and the
 * wrapper would be one more function and closure held for the agent's life.
 */
const rare = () => import('./runner-rare.ts');

export interface ArtifactSpec {
  name: string;
  version: string;
  size: number;
  /** Lower-case hex SHA-256. */
  digest: string;
}

export type SinkSpec = { kind: 'staging'; name: string } | { kind: 'slot' };

export interface DownloadOutcome {
  ok: boolean;
  code?: string;
  message?: string;
  bytesTransferred: number;
  attempts: number;
}

export interface InstallOutcome {
  ok: boolean;
  exitCode?: number;
  output?: string;
  timedOut?: boolean;
  /** Power was lost while installing and the install is not repeatable. */
  interrupted?: boolean;
  message?: string;
}

/** The persisted job: everything needed to continue after a power cut. */
export interface PipelineJob<F = unknown> {
  id: string;
  artifact: ArtifactSpec;
  sink: SinkSpec;
  location?: { url: string; expiresUtcMs?: number };
  announced: boolean;
  progress?: DownloadProgress;
  relocations: number;
  corruptDownloads: number;
  download?: DownloadOutcome;
  /** Set while (and after) the job was held before installing. */
  hold?: HoldRecord;
  install?: InstallOutcome;
  /** The artifact offered as a delta too (./delta-step.ts): tried first, the full artifact is the fallback. */
  delta?: DeltaState;
  /**
   * The signed facts the trust gate approved (./trust-gate.ts): once set, `artifact.size` and
   * `artifact.digest` are the signed ones, and `trusted.postInstall` is the only command to run.
   */
  trusted?: TrustedArtifact;
  /** Family-specific data (e.g. the manager's instruction). */
  family: F;
}

export type ReportPhase = 'downloadBegin' | 'downloadEnd' | 'installEnd';

/** A report the pipeline queues in the family's outbox (its id is `<job id>/<phase>`). */
export interface PipelineReport {
  kind: string;
  body: unknown;
}

export interface PipelineHooks<F> {
  /**
   * The artifact the job installs, as signed metadata names it (kind, name, version, the manager's
   * post-install command). Asked before `locate` when the machine has a trust gate.
   */
  trustTarget?(job: PipelineJob<F>): TrustRequest | Promise<TrustRequest>;
  /** Current download URL (seed 000: package location request). */
  locate(job: PipelineJob<F>): Promise<{ url: string; expiresUtcMs?: number }>;
  /** The report for a phase, or undefined when the family reports nothing there. Delivered at least once. */
  report(job: PipelineJob<F>, phase: ReportPhase): PipelineReport | undefined;
  /** After a source failed for good (attempts exhausted, an error status): may another source be tried? */
  fallback?(job: PipelineJob<F>): boolean;
  /** Headers for the download request (credentials): asked for each run, never persisted. */
  requestHeaders?(job: PipelineJob<F>, url: string): Promise<Record<string, string>>;
  /** Decides whether a downloaded, verified artifact waits before install (./hold.ts). Absent: no hold. */
  hold?(job: PipelineJob<F>, hold: HoldRecord): Promise<HoldDecision>;
  /** Applies the artifact (post-install command, slot completion). */
  install(job: PipelineJob<F>, location: string): Promise<InstallOutcome>;
  /** The install may run again after a power cut during it (a slot write: yes; a command: no). */
  readonly installRepeatable: boolean;
  /** Store writes committed atomically with the job's success (e.g. the package DB entry). */
  commit(job: PipelineJob<F>): StoreOp[];
  onProgress?(job: PipelineJob<F>, offset: number, size: number): void;
  /** Where a job's delta finds its source and its patch. Absent: deltas are not tried (full artifact). */
  delta?: DeltaHooks<PipelineJob<F>>;
}

export interface PipelineSettings {
  maxAttempts: number;
  byteBudgetFactor: number;
  checkpointBytes: number;
  /** Checkpoint once `checkpointBytes` arrived *and* this long passed (download.ts; default 0). */
  checkpointMs?: number;
  /** Bytes per sink write: the board's `downloadChunkBytes` (memory ≈ chunk × (queue depth + 1)). */
  chunkBytes?: number;
  timeoutMs: number;
  corruptRetries: number;
  maxRelocations: number;
  allowedSchemes: string[];
  backoff: { initialMs: number; maxMs: number; factor: number };
  /** Keep the staging file after a successful install (default: remove it). */
  keepArtifact?: boolean;
}

type Handler<F> = StateHandler<PipelineState, PipelineEvent, PipelineJob<F>>;
type Result<F> = HandlerResult<PipelineEvent, PipelineJob<F>>;

/** The machine for one job stored under `key`. Call `start(job)` for a new job, `resume()` once per boot. */
export interface PipelineMachineOptions<F> {
  device: Device;
  engines: Engines;
  store: KeyValueStore;
  key: string;
  hooks: PipelineHooks<F>;
  settings: PipelineSettings;
  /** Where reports go: the family's queue in the outbox. */
  outbox: { outbox: Outbox; family: string };
  log: Logger;
  /** Stops a download at once (also during a retry backoff): the job suspends and resumes later. */
  signal?: AbortSignalLike;
  /**
   * Signed-metadata verification (./trust-gate.ts): every job is approved before its download.
   * `raiseMinimum: 'finish'` (default) raises the anti-rollback minimum with the job's success;
   * `'none'` leaves it to the caller (the image step raises it when the new image is committed).
   */
  trust?: { gate: TrustGate; raiseMinimum?: 'finish' | 'none' };
  /**
   * The firmware-slot sink (./slot-sink.ts), for jobs whose sink is `{ kind: 'slot' }`: given by
   * the image families (./image-download.ts), so a machine that only stages packages does not
   * load it.
   */
  slotSink?: typeof slotSink;
}

/**
 * The locate-time check: the job's artifact must match a signed targets entry. The signed length
 * and digest replace the manager's, so the download is capped by the one and verified against the
 * other. A job approved before (a relocation, a retry, a reboot) keeps its approval.
 */
async function approve<F>(options: PipelineMachineOptions<F>, job: PipelineJob<F>): Promise<PipelineJob<F>> {
  const gate = options.trust?.gate;
  if (!gate || job.trusted) return job;
  if (!options.hooks.trustTarget) return (await import('./runner-rare.ts')).untargeted(gate, job);
  // A delta the family's message offered stays the job's; else signed metadata may name one.
  const held = !job.delta && options.hooks.delta?.held ? await options.hooks.delta.held(job) : undefined;
  const trusted = await gate.approve({ ...(await options.hooks.trustTarget(job)), ...(held ? { held } : {}) });
  if (!trusted) return job;
  if (trusted.length !== job.artifact.size || trusted.sha256 !== job.artifact.digest.toLowerCase())
    options.log.warn('the manager announced other facts than the signed ones; the signed ones are used', { job: job.id, path: trusted.path });
  const delta = trusted.delta && !job.delta ? { delta: newDeltaState(signedDeltaArtifact(trusted.delta)) } : {};
  return { ...job, trusted, artifact: { ...job.artifact, size: trusted.length, digest: trusted.sha256 }, ...delta };
}

/** The store ops that queue the report of `phase` (none when the family reports nothing there). */
function reportOps<F>(options: PipelineMachineOptions<F>, job: PipelineJob<F>, phase: ReportPhase) {
  const report = options.hooks.report(job, phase);
  if (!report) return [];
  return options.outbox.outbox.enqueueOp(options.outbox.family, { id: `${job.id}/${phase}`, kind: report.kind, body: report.body });
}

type Stage = Exclude<PipelineState, 'succeeded' | 'failed'>;
type Options = PipelineMachineOptions<unknown>;
type Job = PipelineJob<unknown>;
type Step = StepInfo<PipelineState, Job>;

/** The job's sink, opened (`resume: false`: empty). */
function openSink(o: Options, job: Job, resume: boolean): Promise<SinkHandle> {
  let sink: Sink;
  if (job.sink.kind === 'staging') sink = stagingSink(o.device.staging, job.sink.name);
  else if (o.slotSink) sink = o.slotSink(o.device.update, { size: job.artifact.size, version: job.artifact.version });
  else return Promise.reject(new Error(`${o.key}: a slot job needs the machine's slotSink (./image-download.ts)`));
  return sink.open({ resume });
}

/**
 * The stages, once for every machine: a machine hands them its options as `env` (../machine), so a
 * job's machine costs a few objects, not a closure per state. Every stage first delivers what
 * earlier stages queued (`deliver`), so the server hears "download begins" before the download and
 * "download ends" before the install, as seed 000 orders them.
 */
const stages: Record<Stage, (job: Job, step: Step, o: Options) => Promise<Result<unknown>>> = {
  locating: async (job, _step, o) => {
    await deliver(o);
    try {
      const approved = await approve(o, job);
      const location = await o.hooks.locate(approved);
      checkDownloadUrl(location.url, o.settings.allowedSchemes);
      return { event: 'located', context: { ...approved, location } };
    } catch (error) {
      return isTransient(error) ? { suspend: 'network' } : (await rare()).failed(job, 'locateFailed', error);
    }
  },

  announcing: async (job, _step, o) => {
    await deliver(o);
    if (job.announced) return { event: 'reported' };
    return { event: 'reported', context: { ...job, announced: true }, effects: reportOps(o, job, 'downloadBegin') };
  },

  downloading: async (job, step, o) => {
    await deliver(o);
    const { device, engines, hooks, settings } = o;
    // A job from before signed metadata (or without its approval) goes back through the check.
    if (!job.location || (o.trust?.gate.enforced && !job.trusted)) return { event: 'relocate' };
    const { url } = job.location;
    // The artifact offered as a patch too: tried first, once (./delta-step.ts).
    if (job.delta && hooks.delta && job.delta.phase !== 'fellBack') {
      const { runPipelineDelta } = await deltaStage();
      const staged = await runPipelineDelta(o, job, step, (held) => openSink(o, held, false));
      if (staged.kind === 'suspend') return { suspend: staged.reason, context: staged.job };
      const { bytesTransferred, attempts } = staged.job.delta as DeltaState;
      if (staged.kind === 'applied') return { event: 'downloaded', context: { ...staged.job, download: { ok: true, bytesTransferred, attempts } } };
      job = staged.job; // fell back (saved): the full artifact, from byte 0
    }
    if (job.sink.kind === 'staging') {
      const available = await device.staging.available();
      try {
        checkArtifactSize(job.artifact.size, { maxBytes: Number.MAX_SAFE_INTEGER, available: available + (job.progress?.offset ?? 0) });
      } catch (error) {
        return (await rare()).failed(job, 'noSpace', error);
      }
    }
    const headers = hooks.requestHeaders ? await hooks.requestHeaders(job, url) : undefined;
    const sink = await openSink(o, job, job.progress !== undefined);
    let current = job;
    try {
      // Optional settings go in as they are: the stage treats an undefined one as absent.
      const result = await download({
        http: device.net.http,
        clock: device.clock,
        hasher: { create: engines.createHash.bind(engines, 'sha256') },
        url,
        size: job.artifact.size,
        digest: job.artifact.digest,
        sink,
        resumeFrom: job.progress,
        checkpointBytes: settings.checkpointBytes,
        checkpointMs: settings.checkpointMs,
        chunkBytes: settings.chunkBytes,
        checkpoint: async (progress) => {
          current = { ...current, progress };
          await step.save(current);
        },
        maxAttempts: settings.maxAttempts,
        byteBudget: Math.max(job.artifact.size * settings.byteBudgetFactor, job.artifact.size + settings.checkpointBytes),
        timeoutMs: settings.timeoutMs,
        backoff: settings.backoff,
        random01: () => (device.random.bytes(1)[0] as number) / 256,
        headers,
        signal: o.signal,
        // No closure held through the download for a family that follows no progress (OMA DM).
        onProgress: hooks.onProgress && ((offset, size) => hooks.onProgress?.(current, offset, size)),
      });
      if (result.ok) return { event: 'downloaded', context: { ...current, download: { ok: true, bytesTransferred: result.bytesTransferred, attempts: result.attempts } } };
      if (result.code === 'aborted') return { suspend: 'aborted', context: current };
      // Awaited here: the sink must stay open until the rare path is done with it (`finally` closes it).
      return await (await rare()).downloadFailed(o, current, result, sink);
    } finally {
      await sink.close();
    }
  },

  reportingDownload: async (job, _step, o) => {
    await deliver(o);
    const effects = reportOps(o, job, 'downloadEnd');
    if (job.download?.ok) return o.hooks.hold ? { event: 'hold', context: { ...job, hold: { sinceUtcMs: o.device.clock.utcMs() } }, effects } : { event: 'install', effects };
    return (await rare()).retryOrAbandon(o, job, effects);
  },

  holding: async (job, _step, o) => {
    await deliver(o);
    const hold = job.hold ?? { sinceUtcMs: o.device.clock.utcMs() };
    const decision = o.hooks.hold ? await o.hooks.hold(job, hold) : ({ release: true, by: 'policy' } as const);
    if (decision.release) {
      o.log.info('hold released', { job: job.id, by: decision.by });
      return { event: 'released', context: { ...job, hold: { ...hold, releasedBy: decision.by } } };
    }
    // The family's hook knows what it waits for and when to look again (it wakes the scheduler).
    return { suspend: 'held', ...(job.hold ? {} : { context: { ...job, hold } }) };
  },

  installing: async (job, _step, o) => {
    await deliver(o);
    const sink = await openSink(o, job, true);
    const location = sink.location;
    await sink.close();
    const install = await o.hooks.install(job, location);
    return { event: install.ok ? 'installed' : 'failed', context: { ...job, install } };
  },

  recoveringInstall: async (job, _step, o) => {
    await deliver(o);
    return (await rare()).recoveringInstall(job, o);
  },

  reportingInstall: async (job, _step, o) => {
    await deliver(o);
    return { event: job.install?.ok ? 'reported' : 'abandon', effects: reportOps(o, job, 'installEnd') };
  },

  finishing: tidy,
  abandoning: tidy,
};

/**
 * The last stage of a job, either way: its files go (the artifact stays after a success with
 * `keepArtifact`); a finished job commits the family's writes and raises the minimum version.
 */
async function tidy(job: Job, step: Step, o: Options): Promise<Result<unknown>> {
  await deliver(o);
  const { device, trust } = o;
  const finished = step.state === 'finishing';
  if (job.delta) await device.staging.remove(patchFileName(job));
  if (job.sink.kind === 'staging' && !(finished && o.settings.keepArtifact)) await device.staging.remove(job.sink.name);
  if (!finished) return { event: 'abandoned' };
  const raise = trust && trust.raiseMinimum !== 'none' ? trust.gate.commitOps(job.trusted) : [];
  return { event: 'finished', effects: [...o.hooks.commit(job), ...raise] };
}

/** Delivers what earlier stages queued (best effort: a report that cannot go now stays queued and never holds the job up). */
function deliver(o: Options): Promise<unknown> {
  return o.outbox.outbox.flush(o.outbox.family);
}

/** The machine for one job stored under `key`. Call `start(job)` for a new job, `resume()` once per boot. */
export function createPipelineMachine<F>(options: PipelineMachineOptions<F>): StateMachine<PipelineState, PipelineEvent, PipelineJob<F>> {
  return new StateMachine({
    table: pipelineFlow,
    handlers: stages as unknown as Record<Stage, Handler<F>>,
    env: options,
    store: options.store,
    key: options.key,
    onTransition: logTransitions(options.log, options.outbox.family, options.key),
  });
}

/** A new job's initial context. */
export function newJob<F>(id: string, artifact: ArtifactSpec, sink: SinkSpec, family: F): PipelineJob<F> {
  return { id, artifact, sink, announced: false, relocations: 0, corruptDownloads: 0, family };
}
