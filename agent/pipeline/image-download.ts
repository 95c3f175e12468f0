/**
 * The download half of an image step, as every image family configures it: the artifact goes
 * to the inactive slot (a repeatable write: a power cut during it just writes again), the family
 * reports the update's result rather than the download's phases, and activation is the image
 * step's, so "install" and "commit" do nothing here. A family gives only what differs: where the
 * bytes come from, its hold, and its download limits.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import type { Logger } from '../log.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { KeyValueStore } from '../store/index.ts';
import { type PipelineHooks, type PipelineJob, type PipelineSettings, createPipelineMachine } from './runner.ts';
import type { ImageDownloadResult } from './image-step.ts';
import type { TrustGate } from './trust-gate.ts';
import { deltaNote } from './delta-state.ts';
import { slotSink } from './slot-sink.ts';

export interface ImageDownloadParts {
  device: Device;
  engines: Engines;
  store: KeyValueStore;
  outbox: Outbox;
  log: Logger;
  signal?: AbortSignalLike;
  /** The family's trust gate: the image must match a signed targets entry before its download. */
  trust?: TrustGate;
}

/** The limits a family sets; the rest of `PipelineSettings` is the same for every image download. */
export type ImageDownloadLimits = Pick<PipelineSettings, 'maxAttempts' | 'checkpointBytes' | 'checkpointMs' | 'chunkBytes' | 'timeoutMs' | 'maxRelocations'>;

export type ImageDownloadHooks<F> = Pick<PipelineHooks<F>, 'trustTarget' | 'locate' | 'fallback' | 'requestHeaders' | 'hold' | 'onProgress' | 'delta'>;

export function createImageDownload<F>(parts: ImageDownloadParts, options: { key: string; family: string; limits: ImageDownloadLimits; hooks: ImageDownloadHooks<F> }) {
  const { limits } = options;
  return createPipelineMachine<F>({
    device: parts.device,
    engines: parts.engines,
    store: parts.store,
    key: options.key,
    outbox: { outbox: parts.outbox, family: options.family },
    log: parts.log,
    ...(parts.signal ? { signal: parts.signal } : {}),
    // The image goes to the inactive slot.
    slotSink,
    // The image's minimum goes up when the image step commits the new image, not at download.
    ...(parts.trust ? { trust: { gate: parts.trust, raiseMinimum: 'none' as const } } : {}),
    settings: {
      maxAttempts: limits.maxAttempts,
      byteBudgetFactor: 3,
      checkpointBytes: limits.checkpointBytes,
      ...(limits.checkpointMs !== undefined ? { checkpointMs: limits.checkpointMs } : {}),
      ...(limits.chunkBytes !== undefined ? { chunkBytes: limits.chunkBytes } : {}),
      timeoutMs: limits.timeoutMs,
      corruptRetries: 1,
      maxRelocations: limits.maxRelocations,
      allowedSchemes: ['http', 'https'],
      backoff: { initialMs: 1000, maxMs: 60_000, factor: 2 },
    },
    hooks: {
      ...options.hooks,
      installRepeatable: true,
      report: () => undefined,
      install: async () => ({ ok: true }),
      commit: () => [],
    },
  });
}

/**
 * What an image step's download hook returns once the download machine ran: done (with the signed
 * facts it was verified against), failed (with the failure code, e.g. `trust:downgrade`, for the
 * family's report) or suspended. A final machine record is cleared.
 */
export async function imageDownloadResult<F>(
  machine: { clear(): Promise<void> },
  outcome: { kind: string; state?: string; reason?: string; context?: PipelineJob<F> },
): Promise<ImageDownloadResult> {
  if (outcome.kind !== 'final') return { kind: 'suspended', reason: outcome.kind === 'suspended' && outcome.reason ? outcome.reason : 'stopped' };
  const job = outcome.context as PipelineJob<F>;
  await machine.clear();
  const delta = deltaNote(job);
  const noted = delta ? { delta } : {};
  if (outcome.state === 'succeeded') return job.trusted ? { kind: 'done', trusted: job.trusted, ...noted } : { kind: 'done', ...noted };
  const code = job.download?.code;
  return { kind: 'failed', message: job.download?.message ?? code ?? 'download failed', ...(code ? { code } : {}), ...noted };
}
