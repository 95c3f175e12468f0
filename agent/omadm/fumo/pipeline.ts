/**
 * FUMO on the shared pipeline (the `FumoPipeline` the manager calls): the image step (key
 * `omadm/job`) whose download is the pipeline (key `omadm/job/download`): locate = the PkgURL,
 * download into the inactive slot, verify size and SHA-256 (`Ext/Size`, `Ext/SHA256`), then the
 * pipeline's hold, released only by a command — Exec Update (FUMO State 60) — or at once for
 * DownloadAndUpdate; then activate, reboot, trial boot, commit or roll back. The image step's
 * result goes into the outbox; its transport turns it into the FUMO transition and Generic Alert.
 */
import type { AbortSignalLike, Device } from '../../../hal/types.ts';
import type { Engines } from '../../../wasm/index.ts';
import type { Logger } from '../../log.ts';
import type { Outbox } from '../../outbox/outbox.ts';
import { decideHold } from '../../pipeline/hold.ts';
import { createImageStep, type ImageJob } from '../../pipeline/image-step.ts';
import { createImageDownload, imageDownloadResult } from '../../pipeline/image-download.ts';
import { type TrustGate, isTrustFailure } from '../../pipeline/trust-gate.ts';
import { newJob } from '../../pipeline/runner.ts';
import type { KeyValueStore } from '../../store/index.ts';
import { FUMO_RESULT } from './flow.ts';
import type { FumoJob, FumoManager, FumoPipeline } from './manager.ts';

export const FAMILY = 'omadm';
export const JOB_KEY = 'omadm/job';
export const DOWNLOAD_KEY = 'omadm/job/download';

export interface FumoImageData {
  fumo: FumoJob;
}

/** The outbox body of a finished image step. */
export interface FumoResultReport {
  instance: string;
  ok: boolean;
  code: string;
  /** The Generic Alert result code when it is not the default one (a package that failed verification: 404). */
  result?: number;
}

export interface FumoPipelineParts {
  device: Device;
  store: KeyValueStore;
  engines: Engines;
  outbox: Outbox;
  log: Logger;
  fumo(): FumoManager;
  signal(): AbortSignalLike;
  download?: { maxAttempts?: number; checkpointBytes?: number; timeoutMs?: number };
  /** Packages must match signed metadata (`images/<model>/<PkgVersion>`) before their download. */
  trust: TrustGate;
  onHold?(recheckMs: number): void;
}

export function fumoImageStep(parts: FumoPipelineParts) {
  return createImageStep<FumoImageData>({
    device: parts.device,
    store: parts.store,
    key: JOB_KEY,
    outbox: { outbox: parts.outbox, family: FAMILY },
    log: parts.log,
    trust: parts.trust,
    hooks: {
      download: async (job) => {
        const machine = downloadMachine(parts, job);
        if (!machine.record()) await machine.start(newJob(job.id, { name: 'firmware', version: job.image.version, size: job.image.size, digest: job.image.sha256 }, { kind: 'slot' }, job.family));
        return imageDownloadResult(machine, await machine.run({ signal: parts.signal() }));
      },
      healthy: async () => true,
      report: (job): { kind: string; body: FumoResultReport } => ({
        kind: 'fumoResult',
        body: {
          instance: job.family.fumo.instance,
          ok: job.outcome?.ok === true,
          code: job.outcome?.code ?? 'failed',
          // FUMO 1.0: a package that fails its signature/metadata validation is 404.
          ...(isTrustFailure(job.outcome?.reason) ? { result: FUMO_RESULT.signatureFailed } : {}),
        },
      }),
      committed: () => [],
    },
  });
}

function downloadMachine(parts: FumoPipelineParts, job: ImageJob<FumoImageData>) {
  const { device } = parts;
  const instance = job.family.fumo.instance;
  return createImageDownload<FumoImageData>(
    { device, engines: parts.engines, store: parts.store, outbox: parts.outbox, log: parts.log, signal: parts.signal(), trust: parts.trust },
    {
      key: DOWNLOAD_KEY,
      family: FAMILY,
      limits: {
        maxAttempts: parts.download?.maxAttempts ?? 5,
        checkpointBytes: parts.download?.checkpointBytes ?? 64 * 1024,
        timeoutMs: parts.download?.timeoutMs ?? 30_000,
        maxRelocations: 0,
      },
      hooks: {
        trustTarget: async (held) => ({ kind: 'image', name: (await device.system.identity()).model, version: held.family.fumo.version ?? '' }),
        locate: async (held) => ({ url: held.family.fumo.url as string }),
        // Downloaded and verified: FUMO State 40 (Generic Alert for Exec Download) or, for
        // DownloadAndUpdate, straight on; only an Exec Update (State 60) releases the hold.
        hold: async (_held, hold) => {
          await parts.fumo().report(instance, 'downloaded');
          const released = parts.fumo().record(instance).state === 'updating';
          const decision = decideHold({ requireRelease: 'command', recheckMs: 60 * 60_000 }, hold, { nowUtcMs: device.clock.utcMs(), idleMs: device.power.idleMs(), ...(released ? { released: 'command' as const } : {}) });
          if (!decision.release) parts.onHold?.(decision.recheckMs);
          return decision;
        },
      },
    },
  );
}

/** The `FumoPipeline` over the image step: start = create the job (once) and run; release = run again. */
export function createFumoPipeline(parts: FumoPipelineParts): FumoPipeline & { runJob(): Promise<'idle' | 'busy' | 'finished'> } {
  const runJob = async (): Promise<'idle' | 'busy' | 'finished'> => {
    const machine = fumoImageStep(parts);
    if (!machine.record()) return 'idle';
    const outcome = await machine.run({ signal: parts.signal() });
    if (outcome.kind !== 'final') return 'busy';
    await machine.clear();
    // The result is delivered by the family's run (its outbox flush), never here: runJob also runs
    // inside a server session (FumoManager.continue), and delivering the Generic Alert opens a
    // client session, which would wait for the session it runs in (a refused package failed that way).
    return 'finished';
  };
  return {
    runJob,
    async start(job) {
      const machine = fumoImageStep(parts);
      if (!machine.record()) {
        if (job.size === undefined || job.sha256 === undefined) {
          // Nothing to verify the package against: refused, reported as "not acceptable".
          await parts.fumo().report(job.instance, 'downloadFailed', FUMO_RESULT.notAcceptable);
          return;
        }
        const status = await parts.device.update.status();
        const identity = await parts.device.system.identity();
        await machine.start({
          id: `fumo-${job.instance}-${Math.max(0, parts.device.clock.utcMs()).toString(36)}`,
          image: { version: job.version ?? 'unknown', size: job.size, sha256: job.sha256 },
          fromVersion: identity.firmwareVersion,
          original: status.active,
          family: { fumo: job },
        });
      }
      await runJob();
    },
    async release() {
      await runJob();
    },
  };
}
