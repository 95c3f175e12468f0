/**
 * Runs one artifact job through the pipeline table (./flow.ts). What differs between protocol
 * families — how to get the URL, how to report, what "install" means, what to record at the
 * end — comes in as `PipelineHooks`; everything else (resumable verified download, checkpoints,
 * retries, cleanup, exactly-once install) is here once.
 */
import type { Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import { type HandlerResult, type StateHandler, StateMachine } from '../machine/index.ts';
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { TransportError } from '../transport/http.ts';
import { type DownloadProgress, download } from './download.ts';
import { type PipelineEvent, type PipelineState, pipelineFlow } from './flow.ts';
import { type Sink, slotSink, stagingSink } from './sinks.ts';
import { VerificationError, checkArtifactSize, checkDownloadUrl } from './verify.ts';

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
  install?: InstallOutcome;
  /** Family-specific data (e.g. the manager's instruction). */
  family: F;
}

export type ReportPhase = 'downloadBegin' | 'downloadEnd' | 'installEnd';

export interface PipelineHooks<F> {
  /** Current download URL (seed 000: package location request). */
  locate(job: PipelineJob<F>): Promise<{ url: string; expiresUtcMs?: number }>;
  /** Status report; must be safe to repeat (at-least-once). */
  report(job: PipelineJob<F>, phase: ReportPhase): Promise<void>;
  /** Applies the artifact (post-install command, slot completion). */
  install(job: PipelineJob<F>, location: string): Promise<InstallOutcome>;
  /** The install may run again after a power cut during it (a slot write: yes; a command: no). */
  readonly installRepeatable: boolean;
  /** Store writes committed atomically with the job's success (e.g. the package DB entry). */
  commit(job: PipelineJob<F>): StoreOp[];
  onProgress?(job: PipelineJob<F>, offset: number, size: number): void;
}

export interface PipelineSettings {
  maxAttempts: number;
  byteBudgetFactor: number;
  checkpointBytes: number;
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
export function createPipelineMachine<F>(options: {
  device: Device;
  engines: Engines;
  store: KeyValueStore;
  key: string;
  hooks: PipelineHooks<F>;
  settings: PipelineSettings;
  onTransition?: (transition: { from: PipelineState; event: string; to: PipelineState }) => void;
}): StateMachine<PipelineState, PipelineEvent, PipelineJob<F>> {
  const { device, engines, hooks, settings } = options;
  const sinkFor = (job: PipelineJob<F>): Sink =>
    job.sink.kind === 'staging' ? stagingSink(device.staging, job.sink.name) : slotSink(device.update, { size: job.artifact.size, version: job.artifact.version });

  /** Network trouble while talking to the manager: stop here and let the family retry later. */
  const isTransient = (error: unknown) => error instanceof TransportError && error.retryable;
  /** Sends a report; undefined when sent, a suspend when the manager is unreachable for now. */
  const report = async (job: PipelineJob<F>, phase: ReportPhase): Promise<Result<F> | undefined> => {
    try {
      await hooks.report(job, phase);
      return undefined;
    } catch (error) {
      if (isTransient(error)) return { suspend: 'network' };
      throw error;
    }
  };

  const handlers: Record<Exclude<PipelineState, 'succeeded' | 'failed'>, Handler<F>> = {
    locating: async (job) => {
      try {
        const location = await hooks.locate(job);
        checkDownloadUrl(location.url, settings.allowedSchemes);
        return { event: 'located', context: { ...job, location } };
      } catch (error) {
        return isTransient(error) ? { suspend: 'network' } : failed(job, 'locateFailed', error);
      }
    },

    announcing: async (job) => {
      if (job.announced) return { event: 'reported' };
      return (await report(job, 'downloadBegin')) ?? { event: 'reported', context: { ...job, announced: true } };
    },

    downloading: async (job, step) => {
      if (!job.location) return { event: 'relocate' };
      if (job.sink.kind === 'staging') {
        const available = await device.staging.available();
        try {
          checkArtifactSize(job.artifact.size, { maxBytes: Number.MAX_SAFE_INTEGER, available: available + (job.progress?.offset ?? 0) });
        } catch (error) {
          return failed(job, 'noSpace', error);
        }
      }
      const sink = await sinkFor(job).open({ resume: job.progress !== undefined });
      let current = job;
      try {
        const result = await download({
          http: device.net.http,
          clock: device.clock,
          hasher: { create: (state) => engines.createHash('sha256', state) },
          url: job.location.url,
          size: job.artifact.size,
          digest: job.artifact.digest,
          sink,
          ...(job.progress ? { resumeFrom: job.progress } : {}),
          checkpointBytes: settings.checkpointBytes,
          checkpoint: async (progress) => {
            current = { ...current, progress };
            await step.save(current);
          },
          maxAttempts: settings.maxAttempts,
          byteBudget: Math.max(job.artifact.size * settings.byteBudgetFactor, job.artifact.size + settings.checkpointBytes),
          timeoutMs: settings.timeoutMs,
          backoff: settings.backoff,
          onProgress: (offset, size) => hooks.onProgress?.(current, offset, size),
        });
        const outcome: DownloadOutcome = result.ok
          ? { ok: true, bytesTransferred: result.bytesTransferred, attempts: result.attempts }
          : { ok: false, code: result.code, message: result.message, bytesTransferred: result.bytesTransferred, attempts: result.attempts };
        if (!result.ok && result.code === 'relocate') {
          if (current.relocations >= settings.maxRelocations) return { event: 'failed', context: { ...current, download: outcome } };
          const { location: _expired, ...rest } = current;
          return { event: 'relocate', context: { ...rest, relocations: current.relocations + 1 } };
        }
        if (!result.ok && result.code === 'aborted') return { suspend: 'aborted', context: current };
        if (!result.ok && result.code === 'digestMismatch') {
          // Never keep bytes that failed verification: nothing may install them, not even by mistake.
          await sink.truncate(0);
          const { progress: _dropped, ...rest } = current;
          return { event: 'failed', context: { ...rest, download: outcome, corruptDownloads: current.corruptDownloads + 1 } };
        }
        return { event: result.ok ? 'downloaded' : 'failed', context: { ...current, download: outcome } };
      } finally {
        await sink.close();
      }
    },

    reportingDownload: async (job) => {
      const suspended = await report(job, 'downloadEnd');
      if (suspended) return suspended;
      if (job.download?.ok) return { event: 'install' };
      if (job.download?.code === 'digestMismatch' && job.corruptDownloads <= settings.corruptRetries) {
        // A fresh download event: new location, new begin/end reports.
        const { progress: _p, location: _l, download: _d, ...rest } = job;
        return { event: 'retry', context: { ...rest, announced: false } };
      }
      return { event: 'abandon' };
    },

    installing: async (job) => {
      const sink = await sinkFor(job).open({ resume: true });
      const location = sink.location;
      await sink.close();
      const install = await hooks.install(job, location);
      return { event: install.ok ? 'installed' : 'failed', context: { ...job, install } };
    },

    recoveringInstall: async (job) => {
      if (hooks.installRepeatable) return { event: 'retryInstall' };
      return {
        event: 'interrupted',
        context: { ...job, install: { ok: false, interrupted: true, message: 'power was lost while installing; the install was not repeated' } },
      };
    },

    reportingInstall: async (job) => (await report(job, 'installEnd')) ?? { event: job.install?.ok ? 'reported' : 'abandon' },

    finishing: async (job) => {
      if (job.sink.kind === 'staging' && !settings.keepArtifact) await device.staging.remove(job.sink.name);
      return { event: 'finished', effects: hooks.commit(job) };
    },

    abandoning: async (job) => {
      if (job.sink.kind === 'staging') await device.staging.remove(job.sink.name);
      return { event: 'abandoned' };
    },
  };

  return new StateMachine({
    table: pipelineFlow,
    handlers,
    store: options.store,
    key: options.key,
    ...(options.onTransition ? { onTransition: options.onTransition } : {}),
  });
}

function failed<F>(job: PipelineJob<F>, code: string, error: unknown): Result<F> {
  const message = error instanceof Error ? error.message : String(error);
  const errorCode = error instanceof VerificationError ? error.code : code;
  return { event: 'failed', context: { ...job, download: { ok: false, code: errorCode, message, bytesTransferred: 0, attempts: 0 } } };
}

/** A new job's initial context. */
export function newJob<F>(id: string, artifact: ArtifactSpec, sink: SinkSpec, family: F): PipelineJob<F> {
  return { id, artifact, sink, announced: false, relocations: 0, corruptDownloads: 0, family };
}
