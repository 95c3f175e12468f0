/**
 * One poll of the pull model (seed 000), in the seed's order:
 *   identify → package list (+ roaming stamp, seed 004) → finish jobs left from before
 *   → diff → download instruction per needed package → download events (the shared pipeline)
 *   → removal of non-conforming packages → requested reports.
 * Every job is persisted before its first side effect, so a power cut anywhere resumes the job
 * (at the next boot's `boot()` and the next cycle), never repeats a post-install, never marks a
 * half package installed.
 */
import type { Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import { createPipelineMachine, newJob, type PipelineHooks, type PipelineJob } from '../pipeline/runner.ts';
import { checkInstruction } from '../pipeline/verify.ts';
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue } from '../store/index.ts';
import type { Logger } from '../log.ts';
import type { ManagedTarget, RoamingTracker } from '../roaming/index.ts';
import { AGENT_VERSION } from '../version.ts';
import { ManagerClient } from './client.ts';
import { runCommand } from './commands.ts';
import type { DeliveryConfig } from './config.ts';
import { type Instruction, type PackageList, PROTOCOL_VERSION, type ReportRequest, type StatusReport } from './messages.ts';
import { type InstalledPackage, PackageDb } from './package-db.ts';
import { planPackages } from './plan.ts';
import { createRemovalMachine, type RemovalJob } from './removal.ts';
import { collectFiles, machineInventory, softwareInventory } from './reports.ts';
import { DeliveryError, type CycleSummary, type DeliveryEvent } from './events.ts';
import { RedirectTracker } from './redirect.ts';
import { TransportError } from '../transport/http.ts';
import { redactText, redactUrl } from '../util/redact.ts';

export type PackageAction = 'install' | 'upgrade';
export interface PackageJobData {
  action: PackageAction;
  optional: boolean;
  instruction: Instruction;
}

const SEQUENCE_KEY = 'delivery/jobSequence';
const JOB_PREFIX = 'job/';

interface Session {
  deviceId: string;
  referenceCounter: number;
}

export interface DeliveryServiceOptions {
  device: Device;
  store: KeyValueStore;
  engines: Engines;
  config: DeliveryConfig;
  targets: readonly ManagedTarget[];
  roaming: RoamingTracker;
  log: Logger;
  onEvent?: (event: DeliveryEvent) => void;
}

export class DeliveryService {
  readonly db: PackageDb;
  readonly #o: DeliveryServiceOptions;
  readonly #client: ManagerClient;
  readonly #redirect: RedirectTracker;
  #busy: Promise<unknown> = Promise.resolve();
  /** The manager of the cycle in progress: a redirect learnt mid-cycle applies from the next cycle only. */
  #cycleManager: string | undefined;

  constructor(options: DeliveryServiceOptions) {
    this.#o = options;
    this.db = new PackageDb(options.store);
    this.#redirect = new RedirectTracker({ store: options.store, configured: options.config.manager, maxFailedPolls: options.config.redirectMaxFailedPolls, log: options.log });
    this.#client = new ManagerClient({
      http: options.device.net.http,
      managerUrl: () => this.#cycleManager ?? this.managerUrl(),
      timeoutMs: options.config.requestTimeoutMs,
      deadlineMs: options.config.requestDeadlineMs,
      maxAnswerBytes: options.config.maxAnswerBytes,
    });
  }

  /** The manager polled now: the configured one, or where a manager redirected the device. */
  managerUrl(): string {
    return this.#redirect.current();
  }

  /** Once per boot: moves persisted jobs along their resume maps. Returns how many jobs are pending. */
  async boot(): Promise<number> {
    let pending = 0;
    await this.#redirect.prune();
    for (const key of this.#o.store.keys(JOB_PREFIX)) {
      const machine = this.#machineFor(key, undefined);
      await machine.resume();
      if (machine.active()) pending++;
      else await machine.clear();
    }
    return pending;
  }

  /** Runs one poll; concurrent calls queue behind each other. */
  cycle(): Promise<CycleSummary> {
    const cycle = async () => {
      const manager = (this.#cycleManager = this.managerUrl());
      try {
        const summary = await this.#cycle();
        await this.#redirect.pollSucceeded(manager);
        return summary;
      } catch (error) {
        // Only the wire counts against a redirect: a failing job is not a dead manager.
        if (error instanceof TransportError) await this.#redirect.pollFailed(manager).catch(() => undefined);
        throw error;
      } finally {
        this.#cycleManager = undefined;
      }
    };
    const run = this.#busy.then(cycle, cycle);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #cycle(): Promise<CycleSummary> {
    const { device, roaming, targets, config, engines } = this.#o;
    const emit = (event: DeliveryEvent) => this.#o.onEvent?.(event);
    const manager = this.#cycleManager as string;
    emit({ kind: 'cycleStart', manager: redactUrl(manager) });
    const identity = await device.system.identity();
    const lastCounter = roaming.state().referenceCounter;
    const list: PackageList = await this.#client.send('identify', {
      type: 'identify',
      protocol: PROTOCOL_VERSION,
      agentVersion: AGENT_VERSION,
      platform: device.platform,
      identity,
      targets: [...targets],
      ...(lastCounter !== undefined ? { referenceCounter: lastCounter } : {}),
    });
    // Refuse a list the diff cannot use before anything from it is persisted.
    assertUniqueNames(list);

    const stamp = await roaming.onConnection(list.manager, targets);
    const session: Session = { deviceId: identity.deviceId, referenceCounter: stamp.referenceCounter };
    if (list.redirect) await this.#redirect.learn(manager, list.redirect);
    const ack = await this.#client.send('connection', {
      type: 'connection',
      ...session,
      targets: roaming.pendingMoves(targets),
      installed: this.db.list().map(({ name, version, digest }) => ({ name, version, digest })),
    });
    await roaming.acknowledge(ack.moves);

    const summary: CycleSummary = {
      manager: redactUrl(manager),
      managerAddress: redactUrl(list.manager.address),
      referenceCounter: stamp.referenceCounter,
      moved: stamp.moved,
      installed: [],
      upgraded: [],
      removed: [],
      failed: [],
      kept: 0,
      skipped: [],
      reports: [],
      ...(list.nextPollMs !== undefined ? { nextPollMs: list.nextPollMs } : {}),
    };

    // Jobs from an earlier cycle (or boot) come first: their package state decides the diff.
    for (const key of this.#o.store.keys(JOB_PREFIX)) await this.#runJob(key, session, summary);

    const plan = planPackages(engines, this.db.list(), list.packages, config.optionalPackages);
    summary.kept = plan.keep.length;
    summary.skipped = plan.skipped.map((spec) => spec.name);
    emit({ kind: 'plan', install: plan.install.length, upgrade: plan.upgrade.length, remove: plan.remove.length, keep: plan.keep.length, skipped: plan.skipped.length });

    // Download instructions for every needed package first, then one download event each.
    const created: string[] = [];
    const wanted = [
      ...plan.install.map((spec) => ({ spec, action: 'install' as const })),
      ...plan.upgrade.map(({ to }) => ({ spec: to, action: 'upgrade' as const })),
    ];
    for (const { spec, action } of wanted) {
      const instruction = await this.#client.send('instruction', {
        type: 'instructionRequest',
        ...session,
        name: spec.name,
        version: spec.version,
      });
      try {
        checkInstruction(instruction, spec);
      } catch (error) {
        summary.failed.push({ name: spec.name, version: spec.version, action, reason: error instanceof Error ? error.message : String(error) });
        this.#o.log.warn('refused an instruction that contradicts the package list', { name: spec.name, error: String(error) });
        continue;
      }
      created.push(await this.#createPackageJob({ action, optional: spec.optional, instruction }));
    }
    for (const record of plan.remove) created.push(await this.#createRemovalJob(record));
    for (const key of created) await this.#runJob(key, session, summary);

    for (const request of list.reports) {
      await this.#sendReport(request, session);
      summary.reports.push(request.kind);
    }
    emit({ kind: 'cycleEnd', summary });
    return summary;
  }

  async #nextSequence(): Promise<string> {
    const next = (getValue<number>(this.#o.store, SEQUENCE_KEY) ?? 0) + 1;
    await putValue(this.#o.store, SEQUENCE_KEY, next);
    return String(next).padStart(8, '0');
  }

  async #createPackageJob(data: PackageJobData): Promise<string> {
    const { name, version, size, digest } = data.instruction;
    const sequence = await this.#nextSequence();
    const key = `${JOB_PREFIX}${sequence}/package`;
    const id = `${sequence}-${name}@${version}`.slice(0, 128);
    const job = newJob(id, { name, version, size, digest }, { kind: 'staging', name: `job-${sequence}` }, data);
    await this.#packageMachine(key, undefined).start(job);
    return key;
  }

  async #createRemovalJob(record: InstalledPackage): Promise<string> {
    const sequence = await this.#nextSequence();
    const key = `${JOB_PREFIX}${sequence}/removal`;
    const job: RemovalJob = { id: `${sequence}-remove-${record.name}`.slice(0, 128), package: record };
    await this.#removalMachine(key, undefined).start(job);
    return key;
  }

  #machineFor(key: string, session: Session | undefined) {
    return key.endsWith('/removal') ? this.#removalMachine(key, session) : this.#packageMachine(key, session);
  }

  #removalMachine(key: string, session: Session | undefined) {
    const needSession = sessionGuard(session);
    return createRemovalMachine({
        store: this.#o.store,
        key,
        exec: this.#o.device.exec,
        db: this.db,
        report: async (job) => {
          const outcome = job.outcome ?? { ok: false, message: 'no outcome' };
          await this.#status(needSession(), job.id, job.package.name, job.package.version, 'removeEnd', { ...outcome, ...(outcome.interrupted ? { code: 'interrupted' } : {}) }, {
            ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
            ...(outcome.output !== undefined ? { output: outcome.output } : {}),
          });
        },
      });
  }

  #packageMachine(key: string, session: Session | undefined) {
    const { store, device } = this.#o;
    const needSession = sessionGuard(session);
    const hooks: PipelineHooks<PackageJobData> = {
      installRepeatable: false,
      locate: async (job) => {
        const location = await this.#client.send('location', { type: 'locationRequest', ...needSession(), locationToken: job.family.instruction.locationToken });
        return { url: location.url, ...(location.expiresUtcMs !== undefined ? { expiresUtcMs: location.expiresUtcMs } : {}) };
      },
      report: async (job, phase) => {
        const { name, version } = job.artifact;
        if (phase === 'downloadBegin') return this.#status(needSession(), job.id, name, version, 'downloadBegin', { ok: true });
        if (phase === 'downloadEnd') {
          const d = job.download ?? { ok: false, bytesTransferred: 0, attempts: 0 };
          return this.#status(needSession(), job.id, name, version, 'downloadEnd', { ok: d.ok, ...(d.code ? { code: d.code } : {}), ...(d.message ? { message: d.message } : {}) }, { bytes: d.bytesTransferred, attempts: d.attempts });
        }
        const i = job.install ?? { ok: false };
        return this.#status(needSession(), job.id, name, version, 'postInstallEnd', {
          ok: i.ok,
          ...(i.interrupted ? { code: 'interrupted' } : i.timedOut ? { code: 'timeout' } : !i.ok ? { code: 'postInstallFailed' } : {}),
          ...(i.message ? { message: i.message } : {}),
        }, { ...(i.exitCode !== undefined ? { exitCode: i.exitCode } : {}), ...(i.output !== undefined ? { output: i.output } : {}) });
      },
      install: (job, location) => runCommand(device.exec, job.family.instruction.postInstall, { name: job.artifact.name, version: job.artifact.version, jobId: job.id, artifact: location }),
      commit: (job) => [
        this.db.recordOp({
          name: job.artifact.name,
          version: job.artifact.version,
          digest: job.artifact.digest,
          optional: job.family.optional,
          installedUtcMs: device.clock.utcMs(),
          ...(job.family.instruction.uninstall ? { uninstall: job.family.instruction.uninstall } : {}),
          jobId: job.id,
        }),
      ],
      onProgress: (job, offset, size) => this.#o.onEvent?.({ kind: 'progress', jobId: job.id, name: job.artifact.name, version: job.artifact.version, offset, size }),
    };
    const download = this.#o.config.download;
    return createPipelineMachine<PackageJobData>({
      device,
      engines: this.#o.engines,
      store,
      key,
      hooks,
      settings: {
        maxAttempts: download.maxAttempts,
        byteBudgetFactor: download.byteBudgetFactor,
        checkpointBytes: download.checkpointBytes,
        timeoutMs: download.timeoutMs,
        corruptRetries: download.corruptRetries,
        maxRelocations: 3,
        allowedSchemes: ['http', 'https'],
        backoff: { initialMs: 1000, maxMs: 60_000, factor: 2 },
      },
    });
  }

  async #runJob(key: string, session: Session, summary: CycleSummary): Promise<void> {
    const machine = this.#machineFor(key, session);
    const record = machine.record();
    if (!record) return;
    const emit = (event: DeliveryEvent) => this.#o.onEvent?.(event);
    const isRemoval = key.endsWith('/removal');
    const context = record.context as PipelineJob<PackageJobData> | RemovalJob;
    const name = 'artifact' in context ? context.artifact.name : context.package.name;
    const version = 'artifact' in context ? context.artifact.version : context.package.version;
    const action = isRemoval ? 'remove' : (context as PipelineJob<PackageJobData>).family.action;
    emit({ kind: 'jobStart', jobId: context.id, action, name, version, ...('artifact' in context ? { size: context.artifact.size } : {}) });
    const outcome = await machine.run();
    if (outcome.kind !== 'final') throw new DeliveryError('suspended', `job ${context.id} (${action} ${name}) stopped in ${outcome.state}: ${'reason' in outcome ? outcome.reason : 'stopped'}`);
    const ok = outcome.state === 'succeeded' || (outcome.state === 'done' && (outcome.context as RemovalJob).outcome?.ok === true);
    if (ok) (action === 'remove' ? summary.removed : action === 'upgrade' ? summary.upgraded : summary.installed).push(`${name}@${version}`);
    else summary.failed.push({ name, version, action, reason: failureReason(outcome.context) });
    emit({ kind: 'jobEnd', jobId: context.id, action, name, version, ok });
    await machine.clear();
  }

  async #status(session: Session, jobId: string, name: string, version: string, phase: StatusReport['phase'], result: { ok: boolean; code?: string; message?: string }, extra: Partial<StatusReport> = {}): Promise<void> {
    await this.#client.send('status', {
      type: 'status',
      ...session,
      jobId,
      name,
      version,
      phase,
      outcome: result.ok ? 'success' : 'failure',
      ...(!result.ok ? { error: { code: (result.code ?? 'failed').slice(0, 64), message: (result.message ?? '').slice(0, 4096) } } : {}),
      ...extra,
      ...(extra.output !== undefined ? { output: extra.output.slice(-4096) } : {}),
      deviceUtcMs: Math.max(0, this.#o.device.clock.utcMs()),
    });
  }

  async #sendReport(request: ReportRequest, session: Session): Promise<void> {
    const { device } = this.#o;
    if (request.kind === 'softwareInventory')
      await this.#client.send('report', { type: 'report', kind: 'softwareInventory', ...session, packages: softwareInventory(this.db.list()) });
    else if (request.kind === 'machineInventory') await this.#client.send('report', { type: 'report', kind: 'machineInventory', ...session, ...(await machineInventory(device.system)) });
    else await this.#client.send('report', { type: 'report', kind: 'fileCollection', ...session, files: await collectFiles(device.files, request.paths, request.maxBytes) });
    this.#o.onEvent?.({ kind: 'report', report: request.kind });
  }
}

/** Jobs talk to the manager only inside a cycle, with that cycle's reference counter. */
function sessionGuard(session: Session | undefined): () => Session {
  return () => {
    if (!session) throw new DeliveryError('noSession', 'a job tried to talk to the manager before this cycle identified itself');
    return session;
  };
}

function assertUniqueNames(list: PackageList): void {
  const seen = new Set<string>();
  for (const spec of list.packages) {
    if (seen.has(spec.name)) throw new DeliveryError('badPackageList', `the package list names ${spec.name} twice`);
    seen.add(spec.name);
  }
}

function failureReason(context: unknown): string {
  return redactText(rawFailureReason(context));
}

function rawFailureReason(context: unknown): string {
  const job = context as Partial<PipelineJob> & Partial<RemovalJob>;
  if (job.install && !job.install.ok) return job.install.message ?? 'post-install failed';
  if (job.download && !job.download.ok) return `${job.download.code ?? 'download failed'}${job.download.message ? `: ${job.download.message}` : ''}`;
  if (job.outcome && !job.outcome.ok) return job.outcome.message ?? 'uninstall failed';
  return 'failed';
}
