/**
 * One poll of the pull model (seed 000), in the seed's order:
 *   identify → package list (+ roaming stamp, seed 004) → deliver queued reports → finish jobs
 *   left from before → diff → download instruction per needed package → download events (the
 *   shared pipeline) → removal of non-conforming packages → requested reports.
 * Every job is persisted before its first side effect, so a power cut anywhere resumes the job
 * (at the next boot's `boot()` and the next cycle), never repeats a post-install, never marks a
 * half package installed. Jobs are created lazily, a bounded batch at a time (../families/jobs.ts),
 * and their status reports go through the outbox, sent with the session of the cycle that
 * delivers them.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import { DEFAULT_JOB_LIMITS, readableJobs } from '../families/jobs.ts';
import { type JobLimits, jobRoom } from '../families/job-limits.ts';
import type { Outbox, OutboxEntry } from '../outbox/outbox.ts';
import { newJob, type PipelineJob } from '../pipeline/runner.ts';
import { StoreFullError } from '../store/index.ts';
import { RetryLaterError } from '../util/retry.ts';
import { checkInstruction } from './instruction.ts';
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue } from '../store/index.ts';
import type { Logger } from '../log.ts';
import type { ManagedTarget, RoamingTracker } from '../roaming/index.ts';
import { AGENT_VERSION } from '../version.ts';
import { ManagerClient } from './client.ts';
import type { DeliveryConfig } from './config.ts';
import { type Instruction, type PackageList, type PackageSpec, PROTOCOL_VERSION, type ReportRequest } from './messages.ts';
import { type PackageAction, type PackageJobData, failureReason, installedEntry, jobInstruction } from './package-job.ts';
import { type InstalledPackage, PackageDb, PackageDbFullError } from './package-db.ts';
import { planPackages } from './plan.ts';
import type { RemovalJob } from './removal.ts';
import { collectFiles, machineInventory, softwareInventory } from './reports.ts';
import { DeliveryError, type CycleSummary, type DeliveryEvent } from './events.ts';
import { RedirectTracker } from './redirect-tracker.ts';
import { releaseArtifact, sweepArtifacts } from './delta.ts';
import { newDeltaState } from '../pipeline/delta-state.ts';
import { TransportError, joinUrl } from '../transport/http.ts';
import type { TrustGate } from '../pipeline/trust-gate.ts';
import { type JobMachineParts, jobLabel, loadRemovalMachine, packageMachine, type QueuedStatus, removalMachine, statusReport } from './job-machines.ts';
import type { DeviceTokens } from '../transport/device-token.ts';
import { loadOnce } from '../util/load-once.ts';
import { toHex } from '../util/bytes.ts';
import { checkManagerUrl } from '../trust/transport-policy.ts';
import { redactUrl } from '../util/redact.ts';

export type { PackageAction, PackageJobData } from './package-job.ts';

export const FAMILY = 'delivery';
const SEQUENCE_KEY = 'delivery/jobSequence';
/** Where this family's jobs live: `job/` from before the seam, kept so jobs in flight survive the agent update. */
export const JOB_PREFIX = 'job/';
export const STATE_PREFIX = 'delivery/';

/**
 * Device auth (bearer tokens from a request signed with the device key) is a lazy chunk, loaded by
 * the first exchange that needs a token: a board configured without it (`delivery.deviceAuth:
 * false`) does not carry its code in its heap.
 */
const deviceTokensModule = loadOnce(() => import('../transport/device-token.ts'));

interface Session {
  deviceId: string;
  referenceCounter: number;
}

export interface DeliveryServiceOptions {
  device: Device;
  store: KeyValueStore;
  /** The installed-package DB's own store (the board's `pkgdb` partition); `store` when absent. */
  packageStore?: KeyValueStore;
  engines: Engines;
  config: DeliveryConfig;
  /** The board's `downloadChunkBytes`. */
  downloadChunkBytes?: number;
  targets: readonly ManagedTarget[];
  roaming: RoamingTracker;
  log: Logger;
  outbox: Outbox;
  /** Stops downloads at once (agent stop / Ctrl-C). */
  signal?: () => AbortSignalLike;
  limits?: JobLimits;
  /** Progress events for UIs (FamilyContext.emit). */
  emit?(event: DeliveryEvent): void;
  /** The family's signed-metadata gate factory (FamilyContext.trust). */
  trust(options: { metadataUrl(): string }): TrustGate;
}


export class DeliveryService {
  readonly db: PackageDb;
  readonly #o: DeliveryServiceOptions;
  readonly #client: ManagerClient;
  readonly #redirect: RedirectTracker;
  readonly #trust: TrustGate;
  #busy: Promise<unknown> = Promise.resolve();
  /** The manager of the cycle in progress: a redirect learnt mid-cycle applies from the next cycle only. */
  #cycleManager: string | undefined;
  /** The session of the cycle in progress: queued reports go out only inside one. */
  #session: Session | undefined;
  /** Records set aside at boot or since. */
  setAside = 0;
  /** The device's public key (hex), once `boot()` ran with device auth on. */
  publicKey: string | undefined;

  constructor(options: DeliveryServiceOptions) {
    this.#o = options;
    this.db = new PackageDb(options.packageStore ?? options.store);
    this.#redirect = new RedirectTracker({ store: options.store, configured: options.config.manager, allowInsecure: options.config.allowInsecure, maxFailedPolls: options.config.redirectMaxFailedPolls, log: options.log });
    const { device, config } = options;
    if (config.deviceAuth && !device.keystore)
      throw new DeliveryError('noKeystore', 'delivery.deviceAuth needs the board\'s keystore (the device key); this board has none: set delivery.deviceAuth: false');
    const keystore = device.keystore;
    let tokens: DeviceTokens | undefined;
    this.#client = new ManagerClient({
      http: device.net.http,
      managerUrl: () => this.#cycleManager ?? this.managerUrl(),
      timeoutMs: config.requestTimeoutMs,
      deadlineMs: config.requestDeadlineMs,
      maxAnswerBytes: config.maxAnswerBytes,
      ...(config.deviceAuth && keystore
        ? {
            tokens: () =>
              deviceTokensModule().then(({ DeviceTokens }) =>
                (tokens ??= new DeviceTokens({
                  http: device.net.http,
                  keystore,
                  random: device.random,
                  clock: device.clock,
                  deviceId: async () => (await device.system.identity()).deviceId,
                  timeoutMs: config.requestTimeoutMs,
                  deadlineMs: config.requestDeadlineMs,
                })),
              ),
          }
        : {}),
      allowInsecure: config.allowInsecure,
    });
    // The manager's repository sits next to its protocol endpoints: `<manager>/metadata/`.
    this.#trust = options.trust({ metadataUrl: () => joinUrl(this.#cycleManager ?? this.managerUrl(), 'metadata/') });
    options.outbox.declare(FAMILY, STATE_PREFIX);
    options.outbox.register(FAMILY, (entry) => this.#deliver(entry));
  }

  /** The outbox transport: a queued status report goes out with the current cycle's session. */
  async #deliver(entry: OutboxEntry): Promise<void> {
    const session = this.#session;
    if (!session) throw new RetryLaterError('reports go out inside a poll cycle');
    await this.#client.send('status', { ...(entry.body as QueuedStatus), ...session });
  }

  /** The manager polled now: the configured one, or where a manager redirected the device. */
  managerUrl(): string {
    return this.#redirect.current();
  }

  /** Once per boot: moves persisted jobs along their resume maps. Returns how many jobs are pending. */
  async boot(): Promise<number> {
    let pending = 0;
    if (this.#o.config.deviceAuth && this.#o.device.keystore) {
      // First boot creates the key pair inside the keystore; only the public half comes out, and
      // is logged so the admin can accept (or preauthorize) it on the manager.
      this.publicKey = toHex((await this.#o.device.keystore.publicKey()).key);
      this.#o.log.info('device key (accept it on the manager)', { publicKey: this.publicKey });
    }
    await this.#redirect.prune();
    for (const key of await this.#readableJobs()) {
      const machine = this.#machineFor(key);
      await machine.resume();
      // A job left in its final state is a DB write to apply again (package-db.ts), then cleared.
      if (machine.active() || !(await this.#settle(key, machine))) pending++;
    }
    if (this.#o.config.keepInstalled) await sweepArtifacts(this.#o.device.staging, this.db, { store: this.#o.store, prefix: JOB_PREFIX }, this.#o.log);
    return pending;
  }

  /** Runs one poll; concurrent calls queue behind each other. */
  cycle(): Promise<CycleSummary> {
    const cycle = async () => {
      const manager = (this.#cycleManager = this.managerUrl());
      // Each poll decides on fresh signed metadata (fetched by the first job that needs it).
      this.#trust.invalidate();
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
        this.#session = undefined;
      }
    };
    const run = this.#busy.then(cycle, cycle);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #cycle(): Promise<CycleSummary> {
    const { device, roaming, targets, config, engines } = this.#o;
    const emit = (event: DeliveryEvent) => this.#o.emit?.(event);
    const manager = this.#cycleManager as string;
    // One poll is one session with one manager: an insecure one is logged once per poll (and
    // refused here, before anything is sent, when the policy does not allow it).
    checkManagerUrl(manager, { allowInsecure: config.allowInsecure }, (line) => this.#o.log.warn(line));
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
    this.#session = session;
    // Reports queued before (a power cut, an unreachable manager) go first, in order.
    await this.#o.outbox.flush(FAMILY, { force: true });

    const summary: CycleSummary = {
      manager: redactUrl(manager),
      managerAddress: redactUrl(list.manager.address),
      referenceCounter: stamp.referenceCounter,
      moved: stamp.moved,
      installed: [], upgraded: [], removed: [], failed: [],
      kept: 0,
      skipped: [],
      reports: [],
      ...(list.nextPollMs !== undefined ? { nextPollMs: list.nextPollMs } : {}),
    };

    // Jobs from an earlier cycle (or boot) come first: their package state decides the diff.
    for (const key of await this.#readableJobs()) await this.#runJob(key, summary);

    const plan = planPackages(engines, this.db.list(), list.packages, config.optionalPackages);
    summary.kept = plan.keep.length;
    summary.skipped = plan.skipped.map((spec) => spec.name);
    emit({ kind: 'plan', install: plan.install.length, upgrade: plan.upgrade.length, remove: plan.remove.length, keep: plan.keep.length, skipped: plan.skipped.length });

    // Jobs are created lazily, a bounded batch at a time: download instructions for the batch,
    // then one download event each. What does not fit waits for the next poll.
    const wanted = [
      ...plan.install.map((spec) => ({ spec, action: 'install' as const })),
      ...plan.upgrade.map(({ to }) => ({ spec: to, action: 'upgrade' as const })),
    ];
    const limits = this.#o.limits ?? DEFAULT_JOB_LIMITS;
    let next = 0;
    let dbFull = false;
    while (next < wanted.length && !dbFull) {
      const room = jobRoom(this.#o.store, JOB_PREFIX, limits);
      if (room === 0) break;
      const created: string[] = [];
      for (const { spec, action } of wanted.slice(next, next + room)) {
        if (!this.db.hasRoom()) {
          await this.#refuseDbFull(spec, action, summary);
          dbFull = true;
          break;
        }
        next++;
        const key = await this.#instructedJob(spec, action, session, summary);
        if (key === false) continue;
        if (key) created.push(key);
        else break;
      }
      for (const key of created) await this.#runJob(key, summary);
      if (created.length === 0) break;
    }
    const deferred = wanted.length - next;
    if (deferred > 0) {
      summary.deferred = deferred;
      this.#o.log.info('packages left for a later poll (job limits)', { deferred });
    }
    // Removals free space: they only need a job slot, never a share of the store.
    for (let i = 0; i < plan.remove.length; ) {
      const room = Math.max(0, limits.maxJobs - this.#o.store.keys(JOB_PREFIX).length);
      const created: string[] = [];
      for (const record of plan.remove.slice(i, i + Math.max(1, room))) {
        i++;
        const key = await this.#create(() => this.#createRemovalJob(record));
        if (key) created.push(key);
      }
      for (const key of created) await this.#runJob(key, summary);
      if (created.length === 0) break;
    }

    for (const request of list.reports) {
      await this.#sendReport(request, session);
      summary.reports.push(request.kind);
    }
    await this.#o.outbox.flush(FAMILY, { force: true });
    emit({ kind: 'cycleEnd', summary });
    return summary;
  }

  /**
   * The package DB has no room: no job starts (no download, no post-install to waste), the
   * manager hears it once a poll (a failed `downloadBegin`, code packageDbFull, through the
   * outbox) and the rest waits; removals still run and free room.
   */
  async #refuseDbFull(spec: { name: string; version: string }, action: PackageAction, summary: CycleSummary): Promise<void> {
    const reason = `package database full (${this.db.store.stats().liveBytes} of ${this.db.store.stats().areaLength} bytes): ${spec.name}@${spec.version} not started`;
    summary.failed.push({ name: spec.name, version: spec.version, action, reason });
    this.#o.log.warn('package database full: no new install this poll', { name: spec.name });
    const report = statusReport(this.#o.device, `dbfull-${spec.name}@${spec.version}`.slice(0, 128), spec.name, spec.version, 'downloadBegin', { ok: false, code: 'packageDbFull', message: reason });
    await this.#o.outbox.enqueue(FAMILY, { id: `${FAMILY}/packageDbFull/${this.#o.device.clock.utcMs()}`, kind: report.kind, body: report.body });
  }

  /** A package's instruction, then its job: the key, false if refused (in `summary`), undefined if the store is full. Its own frame, so the instruction goes once the job holds it. */
  async #instructedJob(spec: PackageSpec, action: PackageAction, session: Session, summary: CycleSummary): Promise<string | false | undefined> {
    const instruction = await this.#client.send('instruction', { type: 'instructionRequest', ...session, name: spec.name, version: spec.version });
    try {
      checkInstruction(instruction, spec);
    } catch (error) {
      summary.failed.push({ name: spec.name, version: spec.version, action, reason: error instanceof Error ? error.message : String(error) });
      this.#o.log.warn('refused an instruction that contradicts the package list', { name: spec.name, error: String(error) });
      return false;
    }
    return this.#create(() => this.#createPackageJob(action, spec.optional, instruction));
  }

  /** Creates one job; a full store ends the batch (logged) instead of failing the poll. */
  async #create(create: () => Promise<string>): Promise<string | undefined> {
    try {
      return await create();
    } catch (error) {
      if (!(error instanceof StoreFullError)) throw error;
      this.#o.log.warn('state store full: no new job this poll', { error: error.message });
      return undefined;
    }
  }

  /** The family's job keys; records it cannot read are set aside (never fatal). */
  async #readableJobs(): Promise<string[]> {
    if (this.#o.store.keys(JOB_PREFIX).some((key) => key.endsWith('/removal'))) await loadRemovalMachine();
    const { keys, setAside } = await readableJobs({
      store: this.#o.store,
      family: FAMILY,
      jobPrefix: JOB_PREFIX,
      log: this.#o.log,
      utcMs: Math.max(0, this.#o.device.clock.utcMs()),
      open: (key) => this.#open(key),
    });
    this.setAside += setAside;
    return keys;
  }

  async #nextSequence(): Promise<string> {
    const next = (getValue<number>(this.#o.store, SEQUENCE_KEY) ?? 0) + 1;
    await putValue(this.#o.store, SEQUENCE_KEY, next);
    return String(next).padStart(8, '0');
  }

  async #createPackageJob(action: PackageAction, optional: boolean, instruction: Instruction): Promise<string> {
    const { name, version, size, digest, delta } = instruction;
    const sequence = await this.#nextSequence();
    const key = `${JOB_PREFIX}${sequence}/package`;
    const id = `${sequence}-${name}@${version}`.slice(0, 128);
    const data: PackageJobData = { action, optional, instruction: jobInstruction(instruction) };
    const job = newJob(id, { name, version, size, digest }, { kind: 'staging', name: `job-${sequence}` }, data);
    await this.#packageMachine(key).start(delta ? { ...job, delta: newDeltaState(delta) } : job);
    return key;
  }

  async #createRemovalJob(record: InstalledPackage): Promise<string> {
    await loadRemovalMachine();
    const sequence = await this.#nextSequence();
    const key = `${JOB_PREFIX}${sequence}/removal`;
    const job: RemovalJob = { id: `${sequence}-remove-${record.name}`.slice(0, 128), package: record };
    await this.#removalMachine(key).start(job);
    return key;
  }

  /** Reads a job record (throws when this agent cannot: unknown kind, table, version or state). */
  #open(key: string): unknown {
    if (!key.endsWith('/removal') && !key.endsWith('/package')) throw new Error(`unknown job kind in ${key}`);
    return this.#machineFor(key).record();
  }

  #machineFor(key: string) {
    return key.endsWith('/removal') ? this.#removalMachine(key) : this.#packageMachine(key);
  }

  #removalMachine(key: string) {
    return removalMachine(this.#jobParts, key);
  }

  #packageMachine(key: string) {
    return packageMachine(this.#jobParts, key);
  }

  /** What the job machines need from the service (./job-machines.ts). */
  get #jobParts(): JobMachineParts {
    return {
      options: this.#o,
      trust: this.#trust,
      db: this.db,
      locate: async (locationToken) => {
        const session = this.#session;
        if (!session) throw new RetryLaterError('a job asks for its location inside a poll cycle');
        const location = await this.#client.send('location', { type: 'locationRequest', ...session, locationToken });
        return { url: location.url, ...(location.expiresUtcMs !== undefined ? { expiresUtcMs: location.expiresUtcMs } : {}) };
      },
    };
  }

  async #runJob(key: string, summary: CycleSummary): Promise<void> {
    const machine = this.#machineFor(key);
    // Only what names the job is kept while it runs: the machine reads its own record, and a
    // decoded one held here would be a second copy of the job for the whole download.
    const job = jobLabel(key, machine.record());
    if (!job) return;
    const { id, action, name, version } = job;
    const emit = (event: DeliveryEvent) => this.#o.emit?.(event);
    emit({ kind: 'jobStart', jobId: id, action, name, version, ...(job.size !== undefined ? { size: job.size } : {}) });
    const outcome = await machine.run();
    if (outcome.kind !== 'final') throw new DeliveryError('suspended', `job ${id} (${action} ${name}) stopped in ${outcome.state}: ${'reason' in outcome ? outcome.reason : 'stopped'}`);
    const ok = outcome.state === 'succeeded' || (outcome.state === 'done' && (outcome.context as RemovalJob).outcome?.ok === true);
    if (ok) (action === 'remove' ? summary.removed : action === 'upgrade' ? summary.upgraded : summary.installed).push(`${name}@${version}`);
    else summary.failed.push({ name, version, action, reason: failureReason(outcome.context) });
    emit({ kind: 'jobEnd', jobId: id, action, name, version, ok });
    if (!(await this.#settle(key, machine))) summary.failed.push({ name, version, action, reason: `package database full: ${name} is installed but not recorded yet (retried next poll)` });
  }

  /**
   * Step 2 and 3 of the hand-over (package-db.ts): the DB write a finished job stands for, then
   * the job is cleared. Idempotent, so boot and the next poll simply apply it again. A full DB
   * keeps the job (it says "committing X") and returns false: removals still run and free room.
   */
  async #settle(key: string, machine: { record(): { state: string; context: unknown } | undefined; active(): boolean; clear(): Promise<void> }): Promise<boolean> {
    const record = machine.record();
    if (record && !machine.active()) {
      try {
        if (key.endsWith('/removal')) {
          const job = record.context as RemovalJob;
          if (job.outcome?.ok) {
            await this.db.forget(job.package.name);
            await releaseArtifact(this.#o.device.staging, job.package, undefined);
          }
        } else if (record.state === 'succeeded') {
          const job = record.context as PipelineJob<PackageJobData>;
          const previous = this.db.get(job.artifact.name);
          const entry = installedEntry(job, this.#o.device.clock.utcMs(), this.#o.config.keepInstalled);
          await this.db.record(entry);
          await releaseArtifact(this.#o.device.staging, previous, entry);
        }
      } catch (error) {
        if (!(error instanceof PackageDbFullError)) throw error;
        this.#o.log.warn('package database full: job kept until there is room', { key, error: error.message });
        return false;
      }
    }
    await machine.clear();
    return true;
  }

  async #sendReport(request: ReportRequest, session: Session): Promise<void> {
    const { device } = this.#o;
    if (request.kind === 'softwareInventory')
      await this.#client.send('report', { type: 'report', kind: 'softwareInventory', ...session, packages: softwareInventory(this.db.list()) });
    else if (request.kind === 'machineInventory') await this.#client.send('report', { type: 'report', kind: 'machineInventory', ...session, ...(await machineInventory(device.system)) });
    else await this.#client.send('report', { type: 'report', kind: 'fileCollection', ...session, files: await collectFiles(device.files, request.paths, request.maxBytes) });
    this.#o.emit?.({ kind: 'report', report: request.kind });
  }
}

function assertUniqueNames(list: PackageList): void {
  const seen = new Set<string>();
  for (const spec of list.packages) {
    if (seen.has(spec.name)) throw new DeliveryError('badPackageList', `the package list names ${spec.name} twice`);
    seen.add(spec.name);
  }
}
