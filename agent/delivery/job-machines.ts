/**
 * How a pull-model job runs: a package job is the shared pipeline (locate → download → verify →
 * install → report) with this family's hooks, a removal job its own machine (./removal.ts). Both
 * report through the outbox as status reports (seed 000's three per package). Split from
 * ./service.ts, which decides which jobs exist and drives them inside a poll cycle.
 */
import type { Device } from '../../hal/types.ts';
import { deltaNote } from '../pipeline/delta-state.ts';
import { createPipelineMachine, type PipelineHooks, type PipelineJob, type PipelineReport } from '../pipeline/runner.ts';
import type { TrustGate } from '../pipeline/trust-gate.ts';
import { redactStatusFields } from '../util/redact.ts';
import { runCommand } from './commands.ts';
import { packageDeltaHooks } from './delta.ts';
import { type CommandSpec, commandSchema, type StatusReport } from './messages.ts';
import type { PackageDb } from './package-db.ts';
import { loadOnce } from '../util/load-once.ts';
import { StateMachine } from '../machine/machine.ts';
import { logTransitions } from '../log.ts';
import type { RemovalEvent, RemovalJob, RemovalState } from './removal.ts';
import { type DeliveryServiceOptions, FAMILY } from './service.ts';
import type { PackageAction, PackageJobData } from './package-job.ts';

/** A status report as queued: the session fields are added by the cycle that sends it. */
export type QueuedStatus = Omit<StatusReport, 'deviceId' | 'referenceCounter'>;

/** What the job machines need from the delivery service. */
export interface JobMachineParts {
  options: DeliveryServiceOptions;
  trust: TrustGate;
  db: PackageDb;
  /** The manager's answer to a location request (only inside a poll cycle). */
  locate(locationToken: string): Promise<{ url: string; expiresUtcMs?: number }>;
}

/**
 * The removal machine (./removal.ts) is a lazy chunk: most polls remove nothing. The service loads
 * it before it creates a removal job or reads job records back that include one.
 */
const removalModule = loadOnce(() => import('./removal.ts'));
let removal: typeof import('./removal.ts') | undefined;

export async function loadRemovalMachine(): Promise<void> {
  removal ??= await removalModule();
}

export function removalMachine(parts: JobMachineParts, key: string) {
  if (!removal) throw new Error('the removal machine is not loaded (loadRemovalMachine)');
  const o = parts.options;
  return new StateMachine<RemovalState, RemovalEvent, RemovalJob>({
    table: removal.removalFlow,
    store: o.store,
    key,
    onTransition: logTransitions(o.log, 'delivery', key),
    handlers: removal.removalHandlers({
      run: (command, variables) => runCommand(o.device.exec, command, variables),
      report: (job) => {
        const outcome = job.outcome ?? { ok: false, message: 'no outcome' };
        const report = statusReport(o.device, job.id, job.package.name, job.package.version, 'removeEnd', { ...outcome, ...(outcome.interrupted ? { code: 'interrupted' } : {}) }, {
          ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
          ...(outcome.output !== undefined ? { output: outcome.output } : {}),
        });
        return o.outbox.enqueueOp(FAMILY, { id: `${job.id}/removeEnd`, kind: report.kind, body: report.body });
      },
      deliver: () => o.outbox.flush(FAMILY),
    }),
  });
}

export function packageMachine(parts: JobMachineParts, key: string) {
  const o = parts.options;
  const { store, device } = o;
  const hooks: PipelineHooks<PackageJobData> = {
    installRepeatable: false,
    trustTarget: (job) => ({ kind: 'package', name: job.artifact.name, version: job.artifact.version, offeredPostInstall: job.family.instruction.postInstall }),
    locate: (job) => parts.locate(job.family.instruction.locationToken),
    report: (job, phase) => {
      const { name, version } = job.artifact;
      if (phase === 'downloadBegin') return statusReport(o.device, job.id, name, version, 'downloadBegin', { ok: true });
      if (phase === 'downloadEnd') {
        const d = job.download ?? { ok: false, bytesTransferred: 0, attempts: 0 };
        const delta = deltaNote(job);
        return statusReport(o.device, job.id, name, version, 'downloadEnd', { ok: d.ok, ...(d.code ? { code: d.code } : {}), ...(d.message ? { message: d.message } : {}) }, { bytes: d.bytesTransferred, attempts: d.attempts, ...(delta ? { delta } : {}) });
      }
      const i = job.install ?? { ok: false };
      return statusReport(o.device, job.id, name, version, 'postInstallEnd', {
        ok: i.ok,
        ...(i.interrupted ? { code: 'interrupted' } : i.timedOut ? { code: 'timeout' } : !i.ok ? { code: 'postInstallFailed' } : {}),
        ...(i.message ? { message: i.message } : {}),
      }, { ...(i.exitCode !== undefined ? { exitCode: i.exitCode } : {}), ...(i.output !== undefined ? { output: i.output } : {}) });
    },
    install: async (job, location) => {
      const command = postInstallCommand(parts.trust, job);
      if (typeof command === 'string') return { ok: false, message: command };
      return runCommand(device.exec, command, { name: job.artifact.name, version: job.artifact.version, jobId: job.id, artifact: location });
    },
    // The DB entry is written after the job's final transition (#settle, package-db.ts): the
    // DB is another store, so it cannot join this batch.
    commit: () => [],
    onProgress: (job, offset, size) => o.emit?.({ kind: 'progress', jobId: job.id, name: job.artifact.name, version: job.artifact.version, offset, size }),
    delta: packageDeltaHooks<PackageJobData>(device.staging, parts.db),
  };
  const download = o.config.download;
  return createPipelineMachine<PackageJobData>({
    device,
    engines: o.engines,
    store,
    key,
    hooks,
    outbox: { outbox: o.outbox, family: FAMILY },
    log: o.log,
    ...(o.signal ? { signal: o.signal() } : {}),
    trust: { gate: parts.trust },
    settings: {
      maxAttempts: download.maxAttempts,
      byteBudgetFactor: download.byteBudgetFactor,
      checkpointBytes: download.checkpointBytes,
      checkpointMs: download.checkpointMs,
      ...(o.downloadChunkBytes !== undefined ? { chunkBytes: o.downloadChunkBytes } : {}),
      timeoutMs: download.timeoutMs,
      corruptRetries: download.corruptRetries,
      maxRelocations: 3,
      allowedSchemes: ['http', 'https'],
      backoff: { initialMs: 1000, maxMs: 60_000, factor: 2 },
      // The installed artifact stays as the source of a later delta (./delta.ts).
      keepArtifact: o.config.keepInstalled,
    },
  });
}

/**
 * The command a package job may run: the signed one (the gate checked that the manager offered
 * exactly it), or — only with `trust.allowUnsigned` — the manager's. A string says why none runs.
 */
function postInstallCommand(trust: TrustGate, job: PipelineJob<PackageJobData>): CommandSpec | string {
  if (!trust.enforced) return job.family.instruction.postInstall;
  if (!job.trusted) return 'trust:unsignedCommand: the job has no signed metadata; its post-install command was not run';
  try {
    return commandSchema.parse(job.trusted.postInstall, 'signed postInstall');
  } catch (error) {
    return `trust:unsignedCommand: the signed post-install command is not a command (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** A status report for the outbox (the session is added when it is sent). */
export function statusReport(device: Device, jobId: string, name: string, version: string, phase: StatusReport['phase'], result: { ok: boolean; code?: string; message?: string }, extra: Partial<StatusReport> = {}): PipelineReport {
  const body: QueuedStatus = {
    type: 'status',
    jobId,
    name,
    version,
    phase,
    outcome: result.ok ? 'success' : 'failure',
    ...(!result.ok ? { error: { code: (result.code ?? 'failed').slice(0, 64), message: (result.message ?? '').slice(0, 4096) } } : {}),
    ...extra,
    ...(extra.output !== undefined ? { output: extra.output.slice(-4096) } : {}),
    deviceUtcMs: Math.max(0, device.clock.utcMs()),
  };
  // Redacted before it is queued: the outbox persists it, and its text can quote a signed URL.
  return { kind: 'status', body: redactStatusFields(body) };
}

/** What names a job in events and errors, read from its record (undefined: no job under `key`). */
export function jobLabel(key: string, record: { context: unknown } | undefined): { id: string; action: PackageAction | 'remove'; name: string; version: string; size?: number } | undefined {
  if (!record) return undefined;
  const context = record.context as PipelineJob<PackageJobData> | RemovalJob;
  const action = key.endsWith('/removal') ? 'remove' : (context as PipelineJob<PackageJobData>).family.action;
  if (!('artifact' in context)) return { id: context.id, action, name: context.package.name, version: context.package.version };
  const { name, version, size } = context.artifact;
  return { id: context.id, action, name, version, size };
}
