/**
 * FUMO on the shared pipeline (the `FumoPipeline` the manager calls): the image step (key
 * `omadm/job`) whose download is the pipeline (key `omadm/job/download`): locate = the package's
 * URL as ./source.ts resolved it (the PkgURL, a download descriptor's objectURI, or the inline
 * PkgData served from staging by ./pkgdata.ts), download into the inactive slot, verify size and
 * SHA-256 (signed metadata through `expected`, else `Ext/Size`, `Ext/SHA256`), then the
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
import type { DeltaNote } from '../../pipeline/delta-step.ts';
import { createImageDownload, imageDownloadResult } from '../../pipeline/image-download.ts';
import { type TrustGate, isTrustFailure } from '../../pipeline/trust-gate.ts';
import { type PipelineJob, newJob } from '../../pipeline/runner.ts';
import { signedImageDeltaHooks } from '../../pipeline/slot-source.ts';
import type { KeyValueStore } from '../../store/index.ts';
import { FUMO_RESULT } from './flow.ts';
import { INSTALL_STATUS } from './install-status.ts';
import type { FumoJob, FumoManager, FumoPipeline } from './manager.ts';
import { PKGDATA_ORIGIN, type PkgDataStore, pkgDataHttp, stagingPkgData } from './pkgdata.ts';
import { type PackageExpectation, type ResolvedPackage, resolvePackage } from './source.ts';

export const FAMILY = 'omadm';
export const JOB_KEY = 'omadm/job';
export const DOWNLOAD_KEY = 'omadm/job/download';

export interface FumoImageData {
  fumo: FumoJob;
  /** Where the bytes come from and what they must be (absent in jobs persisted before descriptors). */
  source?: ResolvedPackage;
}

/** The outbox body of a finished image step. */
export interface FumoResultReport {
  instance: string;
  ok: boolean;
  code: string;
  /** A download descriptor's status report still owed for a download that failed. */
  notify?: InstallNotify;
  /** The Generic Alert result code when it is not the default one (a package that failed verification: 404). */
  result?: number;
  /** The package came as a signed delta: applied, or fell back to the full package (and why). */
  delta?: DeltaNote;
}

/** Outbox body `ddNotify`: POST `status` (`900 Success`, `9xx …`) to a DD's installNotifyURI. */
export interface InstallNotify {
  url: string;
  status: string;
}

export interface FumoPipelineParts {
  device: Device;
  store: KeyValueStore;
  engines: Engines;
  outbox: Outbox;
  log: Logger;
  fumo(): FumoManager;
  signal(): AbortSignalLike;
  download?: { maxAttempts?: number; checkpointBytes?: number; checkpointMs?: number; timeoutMs?: number; chunkBytes?: number };
  /** Packages must match signed metadata (`images/<model>/<PkgVersion>`) before their download. */
  trust: TrustGate;
  onHold?(recheckMs: number): void;
  /** Where inline packages (Update/PkgData) are kept; default: the device's staging files. */
  pkgData?: PkgDataStore;
  /** The package's size and digest from signed metadata (trust verification); undefined: not known there. */
  expected?(job: FumoJob): Promise<PackageExpectation | undefined>;
}

export function pkgDataOf(parts: Pick<FumoPipelineParts, 'device' | 'pkgData'>): PkgDataStore {
  return parts.pkgData ?? stagingPkgData(parts.device.staging);
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
      report: (job): { kind: string; body: FumoResultReport } => {
        const ok = job.outcome?.ok === true;
        const installNotify = job.family.source?.installNotify;
        // Never activated: the download failed, and the DD's server has not heard of it yet.
        const notify = !ok && installNotify && job.target === undefined ? { notify: { url: installNotify, status: downloadStatus(job.outcome?.message ?? '') } } : {};
        // FUMO 1.0: a package that fails its signature/metadata validation is 404.
        const result = isTrustFailure(job.outcome?.reason) ? { result: FUMO_RESULT.signatureFailed } : {};
        return { kind: 'fumoResult', body: { instance: job.family.fumo.instance, ok, code: job.outcome?.code ?? 'failed', ...notify, ...result, ...(job.delta ? { delta: job.delta } : {}) } };
      },
      committed: () => [],
    },
  });
}

/** The 9xx of a failed download (OMA Download OTA §6.2.2) from the pipeline's failure message. */
function downloadStatus(message: string): string {
  // The pipeline's verification messages (verify.ts, download.ts): a wrong digest or a wrong length.
  return /digest|mismatch|bytes, expected|-byte artifact|more than the \d+ bytes/i.test(message) ? INSTALL_STATUS.attributeMismatch : INSTALL_STATUS.lossOfService;
}

function downloadMachine(parts: FumoPipelineParts, job: ImageJob<FumoImageData>) {
  const instance = job.family.fumo.instance;
  const device = downloadDevice(parts.device, job.family.source?.url ?? job.family.fumo.url);
  return createImageDownload<FumoImageData>(
    { device, engines: parts.engines, store: parts.store, outbox: parts.outbox, log: parts.log, signal: parts.signal(), trust: parts.trust },
    {
      key: DOWNLOAD_KEY,
      family: FAMILY,
      limits: {
        maxAttempts: parts.download?.maxAttempts ?? 5,
        checkpointBytes: parts.download?.checkpointBytes ?? 64 * 1024,
        ...(parts.download?.checkpointMs !== undefined ? { checkpointMs: parts.download.checkpointMs } : {}),
        ...(parts.download?.chunkBytes !== undefined ? { chunkBytes: parts.download.chunkBytes } : {}),
        timeoutMs: parts.download?.timeoutMs ?? 30_000,
        maxRelocations: 0,
      },
      hooks: {
        trustTarget: async (held) => ({ kind: 'image', name: (await device.system.identity()).model, version: held.family.fumo.version ?? '' }),
        locate: async (held) => ({ url: held.family.source?.url ?? (held.family.fumo.url as string) }),
        // OMA DM has no field to offer a delta: one comes from the package's signed target
        // (`custom.deltas`, picked by the trust gate for the active slot's version), its patch
        // next to the package URL; applied into the inactive slot, checked as the full package.
        // An inline package (PkgData) is on the device already: no delta for it.
        delta: ((hooks) => ({ ...hooks, held: async (held: PipelineJob<FumoImageData>) => (held.family.fumo.source === 'pkgData' ? undefined : hooks.held?.(held)) }))(
          signedImageDeltaHooks<PipelineJob<FumoImageData>>(device),
        ),
        // Downloaded and verified: FUMO State 40 (Generic Alert for Exec Download) or, for
        // DownloadAndUpdate, straight on; only an Exec Update (State 60) releases the hold.
        hold: async (held, hold) => {
          const installNotify = held.family.source?.installNotify;
          // The DD's 900 once, when the package is in (queued before the transition that makes this pass the first).
          if (installNotify && parts.fumo().record(instance).state === 'downloading')
            await parts.outbox.enqueue(FAMILY, { id: `${held.id}/ddNotify`, kind: 'ddNotify', body: { url: installNotify, status: INSTALL_STATUS.success } satisfies InstallNotify });
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

/**
 * The device the download stage runs on. The same stage reads inline packages from staging
 * (./pkgdata.ts serves their reserved origin): one path for every source. Any other URL goes to
 * the device's HTTP client as it is, without a copy of the device and an HTTP wrapper per download
 * (the small QuickJS board's heap peaks during the download).
 */
function downloadDevice(device: Device, url: string | undefined): Device {
  if (url === undefined || !url.startsWith(PKGDATA_ORIGIN)) return device;
  return { ...device, net: { ...device.net, http: pkgDataHttp(device.staging, device.net.http) } };
}

/** The `FumoPipeline` over the image step: start = create the job (once) and run; release = run again. */
export function createFumoPipeline(parts: FumoPipelineParts): FumoPipeline & { runJob(): Promise<'idle' | 'busy' | 'finished'> } {
  const runJob = async (): Promise<'idle' | 'busy' | 'finished'> => {
    const machine = fumoImageStep(parts);
    if (!machine.record()) return 'idle';
    const outcome = await machine.run({ signal: parts.signal() });
    if (outcome.kind !== 'final') return 'busy';
    // The inline package goes before the job record: a cut in between finds the job and removes again (idempotent).
    const fumoJob = machine.record()?.context.family.fumo;
    if (fumoJob?.source === 'pkgData') await pkgDataOf(parts).remove(fumoJob.instance);
    await machine.clear();
    // The result is delivered by the family's run (its outbox flush), never here: runJob also runs
    // inside a server session (FumoManager.continue), and delivering the Generic Alert opens a
    // client session, which would wait for the session it runs in (a refused package failed that way).
    return 'finished';
  };
  /**
   * Creates the image step's job for `job` (once); false when there is nothing to run. A function
   * of its own so that what it used (a machine, the resolved package, HTTP wrappers) is let go of
   * before the download: an async function's frame keeps every local alive across its awaits.
   */
  const prepare = async (job: FumoJob): Promise<boolean> => {
    const machine = fumoImageStep(parts);
    if (machine.record()) return true;
    // A finished job whose result is still in the outbox (a cut after the job was cleared, before
    // FUMO heard of it): the result is on its way; starting again would run the package twice.
    for (const e of parts.outbox.pending(FAMILY)) if (e.kind === 'fumoResult' && (e.body as FumoResultReport).instance === job.instance) return false;
    const http = pkgDataHttp(parts.device.staging, parts.device.net.http);
    const resolved = await resolvePackage({ http, pkgData: pkgDataOf(parts), timeoutMs: parts.download?.timeoutMs ?? 30_000, ...(parts.expected ? { expected: parts.expected } : {}) }, job);
    if (resolved.kind === 'refused') {
      parts.log.warn('FUMO package refused', { instance: job.instance, reason: resolved.message });
      if (resolved.notify) await parts.outbox.enqueue(FAMILY, { id: `fumo-${job.instance}-refused-${parts.device.clock.utcMs()}`, kind: 'ddNotify', body: resolved.notify });
      await parts.fumo().report(job.instance, job.source === 'pkgData' ? 'updateFailed' : 'downloadFailed', resolved.result);
      return false;
    }
    const status = await parts.device.update.status();
    const identity = await parts.device.system.identity();
    await machine.start({
      id: `fumo-${job.instance}-${Math.max(0, parts.device.clock.utcMs()).toString(36)}`,
      image: { version: job.version ?? 'unknown', size: resolved.pkg.size, sha256: resolved.pkg.sha256 },
      fromVersion: identity.firmwareVersion,
      original: status.active,
      family: { fumo: job, source: resolved.pkg },
    });
    return true;
  };
  return {
    runJob,
    async start(job) {
      if (await prepare(job)) await runJob();
    },
    async release(job) {
      // An inline package has no download step before Exec Update: its job starts here.
      if (job.source === 'pkgData') return this.start(job);
      await runJob();
    },
  };
}
