/**
 * The image step: the production handlers of the A/B update table (../machine/update-flow.ts)
 * on the HAL's `device.update`. The pipeline (./runner.ts) brings the image into the inactive
 * slot and holds it; this step then
 *   activates it (marks it pending) → asks for a reboot → after the boot verifies that the new
 *   image runs on trial and is healthy → commits it (confirm) — or rolls back, and after the
 *   boot verifies that the old image is back → queues the result in the outbox.
 * Each handler is safe to run again after a power cut at any point: it first asks the HAL where
 * the slots are and only then acts. What differs between families (how the image is fetched,
 * what "healthy" means, what the report looks like, what to record) comes in as hooks.
 */
import type { Device, SlotName } from '../../hal/types.ts';
import { type Logger, logTransitions } from '../log.ts';
import { type HandlerResult, type StateHandler, StateMachine, type UpdateEvent, type UpdateState, updateFlow } from '../machine/index.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { errorMessage } from '../util/retry.ts';
import type { DeltaNote } from './delta-step.ts';
import type { TrustGate, TrustedArtifact } from './trust-gate.ts';

export interface ImageJob<F = unknown> {
  id: string;
  /** The image: version, exact size and lower-case hex SHA-256. */
  image: { version: string; size: number; sha256: string };
  /** Version running when the job started. */
  fromVersion: string;
  /** Slot the device ran from when the job started (the fallback). */
  original: SlotName;
  /** Slot the image went to (set when it is activated). */
  target?: SlotName;
  /** `reason`: the download's failure code (e.g. `trust:downgrade`), for the family's report. */
  outcome?: { ok: boolean; code: 'installed' | 'rolledBack' | 'failed'; message?: string; reason?: string; utcMs: number };
  /** How a delta offer went (applied, or fell back to the full image), for the result report. */
  delta?: DeltaNote;
  /** The signed facts the download was verified against (its minimum is raised at commit). */
  trusted?: TrustedArtifact;
  family: F;
}

export type ImageDownloadResult =
  | { kind: 'done'; trusted?: TrustedArtifact; delta?: DeltaNote }
  | { kind: 'failed'; message: string; code?: string; delta?: DeltaNote }
  | { kind: 'suspended'; reason: string };

export interface ImageStepHooks<F> {
  /** Brings the image into the inactive slot (the pipeline: locate, download, verify, hold). */
  download(job: ImageJob<F>): Promise<ImageDownloadResult>;
  /** Is the trial image healthy? (services up, the family's server reachable, …) */
  healthy(job: ImageJob<F>): Promise<boolean>;
  /** The result report for the outbox. */
  report(job: ImageJob<F>): { kind: string; body: unknown };
  /** Store writes committed atomically with the commit (e.g. "current version, last update"). */
  committed(job: ImageJob<F>): StoreOp[];
}

type Result = HandlerResult<UpdateEvent, ImageJob>;

export interface ImageStepOptions<F> {
  device: Device;
  store: KeyValueStore;
  key: string;
  hooks: ImageStepHooks<F>;
  outbox: { outbox: Outbox; family: string };
  log: Logger;
  /** Raises the image's anti-rollback minimum in the commit's batch. */
  trust?: TrustGate;
}

type Options = ImageStepOptions<unknown>;

function failure(o: Options, job: ImageJob, code: 'rolledBack' | 'failed', message: string): ImageJob {
  return { ...job, outcome: { ok: false, code, message: message.slice(0, 512), utcMs: Math.max(0, o.device.clock.utcMs()) } };
}

function enqueue(o: Options, job: ImageJob): StoreOp[] {
  const report = o.hooks.report(job);
  return o.outbox.outbox.enqueueOp(o.outbox.family, { id: `${job.id}/result`, kind: report.kind, body: report.body });
}

/**
 * The handlers, once for every image job: a machine hands them its options as `env`
 * (../machine), so a job's machine costs a few objects, not a closure per state.
 */
const handlers: Record<Exclude<UpdateState, 'succeeded' | 'failed'>, (job: ImageJob, step: unknown, o: Options) => Promise<Result>> = {
  downloading: async (job, _step, o) => {
    const result = await o.hooks.download(job);
    if (result.kind === 'suspended') return { suspend: result.reason };
    const noted = result.delta ? { ...job, delta: result.delta } : job;
    if (result.kind === 'failed') {
      const failed = failure(o, noted, 'failed', result.message);
      return { event: 'failed', context: result.code ? { ...failed, outcome: { ...failed.outcome!, reason: result.code } } : failed };
    }
    // The slot holds the signed image: activation checks the signed length and digest.
    if (result.trusted) return { event: 'downloaded', context: { ...noted, trusted: result.trusted, image: { ...job.image, size: result.trusted.length, sha256: result.trusted.sha256 } } };
    return { event: 'downloaded', ...(result.delta ? { context: noted } : {}) };
  },

  activating: async (job, _step, o) => {
    const status = await o.device.update.status();
    const holds = (slot: SlotName | undefined) => slot !== undefined && status.slots.find((s) => s.slot === slot)?.version === job.image.version;
    if (holds(status.pending)) return { event: 'activated', context: { ...job, target: status.pending } };
    // A power cut right after activation is a reboot: the new image may already run on trial.
    if (status.active !== job.original && holds(status.active)) return { event: 'activated', context: { ...job, target: status.active } };
    try {
      const writer = await o.device.update.openInactive({ size: job.image.size, version: job.image.version, resume: true });
      try {
        await writer.complete({ sha256: job.image.sha256 });
      } finally {
        await writer.close();
      }
      return { event: 'activated', context: { ...job, target: writer.slot } };
    } catch (error) {
      return { event: 'failed', context: failure(o, job, 'failed', `activating the image: ${errorMessage(error)}`) };
    }
  },

  rebooting: async (job, _step, o) => {
    const status = await o.device.update.status();
    // Already running the new image (a power cut was the reboot): straight to the boot check.
    if (status.active === job.target) return { event: 'booted' };
    await o.device.power.requestReboot({ reason: `firmware update (${job.image.version})` });
    return { suspend: 'reboot' };
  },

  verifyingBoot: async (job, _step, o) => {
    const status = await o.device.update.status();
    if (status.active === job.target) {
      if (status.confirmed) return { event: 'healthy' }; // committed before a power cut; committing repeats it harmlessly
      let healthy = false;
      try {
        healthy = await o.hooks.healthy(job);
      } catch (error) {
        o.log.warn('health check failed', { job: job.id, error: errorMessage(error) });
      }
      return healthy ? { event: 'healthy' } : { event: 'unhealthy', context: failure(o, job, 'rolledBack', 'the new image failed its health check') };
    }
    if (status.pending === job.target) return { event: 'notBooted' };
    // Neither running nor pending: the bootloader gave up on the trial (boot-count limit).
    return { event: 'bootloaderRolledBack', context: failure(o, job, 'rolledBack', `the new image did not come up within the boot-count limit (${status.bootCount} boots)`) };
  },

  committing: async (job, _step, o) => {
    try {
      await o.device.update.confirm();
    } catch (error) {
      return { event: 'failed', context: failure(o, job, 'rolledBack', `confirm failed: ${errorMessage(error)}`) };
    }
    const done: ImageJob = { ...job, outcome: { ok: true, code: 'installed', utcMs: Math.max(0, o.device.clock.utcMs()) } };
    return { event: 'committed', context: done, effects: [...o.hooks.committed(done), ...(o.trust?.commitOps(done.trusted) ?? [])] };
  },

  rollingBack: async (job, _step, o) => {
    const status = await o.device.update.status();
    const context = job.outcome ? job : failure(o, job, 'rolledBack', 'rolled back');
    if (status.active === job.original && status.confirmed && status.pending === undefined) return { event: 'rolledBack', context };
    try {
      await o.device.update.rollback();
    } catch (error) {
      return { event: 'failed', context: failure(o, job, 'failed', `rollback failed: ${errorMessage(error)}`) };
    }
    const after = await o.device.update.status();
    // A pending image that never booted is simply dropped: no reboot needed.
    if (after.active === job.original && after.confirmed && after.pending === undefined) return { event: 'rolledBack', context };
    await o.device.power.requestReboot({ reason: `firmware rollback (${job.image.version})` });
    return { suspend: 'reboot', context };
  },

  verifyingRollback: async (job, _step, o) => {
    const status = await o.device.update.status();
    return status.active === job.original && status.confirmed ? { event: 'rolledBack' } : { event: 'notRolledBack' };
  },

  reportingSuccess: async (job, _step, o) => ({ event: 'reported', effects: enqueue(o, job) }),
  reportingFailure: async (job, _step, o) => {
    const reported = job.outcome ? job : failure(o, job, 'failed', 'the update failed');
    return { event: 'reported', context: reported, effects: enqueue(o, reported) };
  },
};

export function createImageStep<F>(options: ImageStepOptions<F>): StateMachine<UpdateState, UpdateEvent, ImageJob<F>> {
  return new StateMachine({
    table: updateFlow,
    handlers: handlers as unknown as Record<keyof typeof handlers, StateHandler<UpdateState, UpdateEvent, ImageJob<F>>>,
    env: options,
    store: options.store,
    key: options.key,
    onTransition: logTransitions(options.log, options.outbox.family, options.key),
  });
}
