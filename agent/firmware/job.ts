/**
 * One firmware update of the device update web service family, on the shared parts:
 *   image step (../pipeline/image-step.ts, key `firmware/job`)
 *     └ downloading = the pipeline (../pipeline/runner.ts, key `firmware/job/download`):
 *         locate (the image URL for the current location, ./client.ts rules) → download into the
 *         inactive slot (Range resume, credentials as a header only, never persisted) → verify
 *         → hold until the device was idle `idleRebootMs` (activity restarts the wait; after
 *         `maxDeferralMs` it is forced)
 *   → activate → reboot → trial boot verified and health-checked → commit (current version and
 *   last-update date recorded atomically with the step) or roll back → result into the outbox.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import type { Logger } from '../log.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { decideHold, type HoldDecision } from '../pipeline/hold.ts';
import { type ImageJob, createImageStep } from '../pipeline/image-step.ts';
import { createImageDownload } from '../pipeline/image-download.ts';
import { type PipelineJob, newJob } from '../pipeline/runner.ts';
import { newDeltaState } from '../pipeline/delta-state.ts';
import { activeSlotHeld, activeSlotSource } from '../pipeline/slot-source.ts';
import { type KeyValueStore, getValue, putOp } from '../store/index.ts';
import { RetryLaterError, errorMessage } from '../util/retry.ts';
import { setAsideRecord } from '../families/jobs.ts';
import type { UpdateClient } from './client.ts';
import type { FirmwareConfig } from './config.ts';
import type { ImageOffer } from './messages.ts';
import type { TrustGate } from '../pipeline/trust-gate.ts';
import { imageDownloadResult } from '../pipeline/image-download.ts';

export const FAMILY = 'firmware';
export const STATE_PREFIX = 'firmware/';
export const JOB_KEY = 'firmware/job';
export const DOWNLOAD_KEY = 'firmware/job/download';
export const INFO_KEY = 'firmware/info';

/** What `dm-agent info` shows, persisted with the commit of an update. */
export interface FirmwareInfo {
  version?: string;
  lastUpdateUtcMs?: number;
  lastCheckUtcMs?: number;
}

/** Family data of an update job: what the service offered and to whom. */
export interface FirmwareJobData {
  offer: ImageOffer;
  deviceId: string;
  model: string;
}

export interface FirmwareJobParts {
  device: Device;
  store: KeyValueStore;
  engines: Engines;
  outbox: Outbox;
  log: Logger;
  config: FirmwareConfig;
  /** The board's `downloadChunkBytes`. */
  downloadChunkBytes?: number;
  client: UpdateClient;
  /** The family's signed-metadata gate: images are `images/<model>/<version>` in its targets. */
  trust: TrustGate;
  /** The signed-in user's credentials and the location, asked when needed (never stored). */
  contact(): Promise<{ location: 'inside' | 'outside' | 'unknown'; user?: { user: string; password: string } }>;
  /** A command or consent released the hold. */
  released(): 'command' | 'consent' | undefined;
  /** The hold's last decision (the family wakes the scheduler for its recheck). */
  onHold(decision: HoldDecision): void;
  signal(): AbortSignalLike;
  emit(event: { kind: string; [field: string]: unknown }): void;
}

export function imageStep(parts: FirmwareJobParts) {
  const { device, store, log, config } = parts;
  return createImageStep<FirmwareJobData>({
    device,
    store,
    key: JOB_KEY,
    outbox: { outbox: parts.outbox, family: FAMILY },
    log,
    trust: parts.trust,
    hooks: {
      download: async (job) => {
        const machine = downloadMachine(parts, job);
        try {
          machine.record();
        } catch (error) {
          // A download record this agent cannot read: set it aside and download again.
          await setAsideRecord(store, { family: FAMILY, key: DOWNLOAD_KEY, reason: errorMessage(error), utcMs: Math.max(0, device.clock.utcMs()) }, log);
        }
        if (!machine.record()) {
          const full = newJob(job.id, { name: 'firmware', version: job.image.version, size: job.image.size, digest: job.image.sha256 }, { kind: 'slot' }, job.family);
          const offered = job.family.offer.delta;
          await machine.start(offered ? { ...full, delta: newDeltaState(offered) } : full);
        }
        return imageDownloadResult(machine, await machine.run({ signal: parts.signal() }));
      },
      healthy: async () => {
        const check = config.healthCheck;
        if (!check) return true; // the agent is up and running on the new image
        const result = await device.exec.run({ command: check.command, args: check.args, timeoutMs: check.timeoutMs });
        return result.exitCode === 0;
      },
      report: (job) => ({
        kind: 'result',
        body: {
          reportId: `${job.family.deviceId}-${job.id}`.slice(0, 128),
          deviceId: job.family.deviceId,
          model: job.family.model,
          fromVersion: job.fromVersion,
          toVersion: job.image.version,
          runningVersion: job.outcome?.ok ? job.image.version : job.fromVersion,
          outcome: job.outcome?.code ?? 'failed',
          ...(job.outcome?.message ? { detail: `${job.outcome.reason?.startsWith('trust:') ? `${job.outcome.reason} ` : ''}${job.outcome.message}`.slice(0, 1024) } : {}),
          ...(job.delta ? { delta: job.delta } : {}),
          utcMs: job.outcome?.utcMs ?? Math.max(0, device.clock.utcMs()),
        },
      }),
      committed: (job) => {
        const info: FirmwareInfo = { ...readInfo(store), version: job.image.version, lastUpdateUtcMs: job.outcome?.utcMs ?? Math.max(0, device.clock.utcMs()) };
        return [putOp(INFO_KEY, info)];
      },
    },
  });
}

function downloadMachine(parts: FirmwareJobParts, job: ImageJob<FirmwareJobData>) {
  const { device, config } = parts;
  const offer = job.family.offer;
  return createImageDownload<FirmwareJobData>(
    { device, engines: parts.engines, store: parts.store, outbox: parts.outbox, log: parts.log, signal: parts.signal(), trust: parts.trust },
    {
      key: DOWNLOAD_KEY,
      family: FAMILY,
      limits: {
        maxAttempts: config.download.maxAttempts,
        checkpointBytes: config.download.checkpointBytes,
        checkpointMs: config.download.checkpointMs,
        ...(parts.downloadChunkBytes !== undefined ? { chunkBytes: parts.downloadChunkBytes } : {}),
        timeoutMs: config.download.timeoutMs,
        maxRelocations: 3,
      },
      hooks: {
        trustTarget: (held) => ({ kind: 'image', name: held.family.model, version: offer.version }),
        // The URL for the current location first; after it failed, the other one (the client's order).
        locate: async (held) => {
          const sources = parts.client.imageSources(offer, await parts.contact());
          if (sources.kind === 'needsSignIn') throw new RetryLaterError(sources.message);
          if (sources.kind === 'failed') throw sources.error;
          return { url: (sources.sources[held.relocations % sources.sources.length] as { url: string }).url };
        },
        fallback: (held) => held.relocations < 1,
        requestHeaders: async (_job, url) => {
          const sources = parts.client.imageSources(offer, await parts.contact());
          return sources.kind === 'ok' ? (sources.sources.find((s) => s.url === url)?.headers ?? {}) : {};
        },
        hold: async (held: PipelineJob<FirmwareJobData>, hold) => {
          const decision = decideHold(
            { idleMs: config.idleRebootMs, maxDeferralMs: config.maxDeferralMs },
            hold,
            { nowUtcMs: device.clock.utcMs(), idleMs: device.power.idleMs(), ...(parts.released() ? { released: parts.released() } : {}) },
          );
          if (!decision.release) parts.log.info('update ready; waiting before the reboot', { job: held.id, waitingFor: decision.waitingFor, recheckMs: Math.round(decision.recheckMs) });
          parts.onHold(decision);
          return decision;
        },
        onProgress: (_job, offset, size) => parts.emit({ kind: 'progress', version: offer.version, offset, size }),
        delta: {
          // The running image, read from the active slot (the HAL may not offer that: full image).
          source: async () => activeSlotSource(device),
          // Signed metadata may name a delta from it too (when the service's answer offers none).
          held: async () => activeSlotHeld(device),
          locate: async () => {
            const patch = offer.delta;
            if (!patch) throw new Error('no delta offered');
            const sources = parts.client.imageSources({ ...offer, internalUrl: patch.internalUrl, externalUrl: patch.externalUrl }, await parts.contact());
            if (sources.kind === 'needsSignIn') throw new RetryLaterError(sources.message);
            if (sources.kind === 'failed') throw sources.error;
            const first = sources.sources[0] as { url: string; headers: Record<string, string> };
            return { url: first.url, headers: first.headers };
          },
        },
      },
    },
  );
}

export function readInfo(store: KeyValueStore): FirmwareInfo {
  return getValue<FirmwareInfo>(store, INFO_KEY) ?? {};
}
