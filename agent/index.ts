/**
 * dm-agent: `createAgent(device, board, config)` is the whole public entry point. The host hands
 * in its HAL (`device`, see hal/types.ts), the board profile and the configuration; the agent
 * never imports a platform module, so this file's bundle (dist/agent.js) runs on Node and QuickJS.
 *
 * The agent builds the families the config names (./families/registry.ts), gives them the shared
 * parts (store, outbox, scheduler, pipeline engines) and runs their triggers on one scheduler.
 */
import type { Device } from '../hal/types.ts';
import type { Engines } from '../wasm/index.ts';
import { type Board, findPartition, parseBoard } from './board.ts';
import { retainSchemas } from './transport/schema.ts';
import { type AgentConfig, ConfigError, loadConfig } from './config-base.ts';
import type { CycleSummary, DeliveryEvent } from './delivery/events.ts';
import type { DeliveryFamily } from './delivery/family.ts';
import type { DeliveryService } from './delivery/service.ts';
import type { FamilyInstance, FamilyStatus, RunReason, RunResult } from './families/family.ts';
import { FAMILIES, type FamilyEntry, checkPrefixes } from './families/registry.ts';
import { Scheduler } from './families/scheduler.ts';
import type { FirmwareFamily } from './firmware/family.ts';
import { createLogger, type Logger } from './log.ts';
import { Outbox } from './outbox/outbox.ts';
import type { PushChannel } from './push/index.ts';
import type { ManagedTarget, RoamingTracker } from './roaming/tracker.ts';
import { storedReferenceCounter } from './roaming/counter.ts';
import { KeyValueStore, type StoreOpenReport } from './store/index.ts';
import { createAbort } from './util/sleep.ts';
import { type TrustGateOptions, unsignedTrustGate } from './pipeline/trust-gate.ts';
import type { SignedTrustConfig } from './trust/config.ts';
import type { VerifierKind } from './trust/verify.ts';
import { AGENT_VERSION } from './version.ts';

/** Any family's progress event, tagged with the family's name. */
export type FamilyEvent = { family: string; kind: string; [field: string]: unknown };

export interface AgentOptions {
  /** Progress of the pull-model family (for UIs such as the demo's progress bars). */
  onDeliveryEvent?: (event: DeliveryEvent) => void;
  /** Progress of every family (including the scheduler's waits). */
  onFamilyEvent?: (event: FamilyEvent) => void;
  /**
   * Engines the host runs for the agent (a QuickJS host without WebAssembly offers its own WASM
   * engines through host functions, hal/quickjs/). Used unless the config asks for 'js'.
   */
  engines?: Engines;
}

export interface BootReport {
  store: StoreOpenReport;
  engine: Engines['kind'];
  /** Who checks signed metadata (absent with `trust.allowUnsigned`). */
  verifier?: VerifierKind;
  pendingJobs: number;
  /** Job records set aside at boot because this agent cannot read them. */
  setAsideJobs: number;
}

export interface AgentInfo {
  version: string;
  board: string;
  platform: string;
  families: FamilyStatus[];
}

export interface Agent {
  readonly version: string;
  /** The board profile as parsed (a fresh copy on each read: the agent keeps it as its JSON text). */
  readonly board: Board;
  readonly config: AgentConfig;
  readonly store: KeyValueStore;
  readonly engines: Engines;
  /** Manager tracking (seed 004), with a family that roams (`roams` in ./families/registry.ts: the pull-model one). */
  readonly roaming?: RoamingTracker;
  readonly outbox: Outbox;
  /** The MQTT push channel, when the config has a `push` section (connected while `run()` runs). */
  readonly push?: PushChannel;
  /** The families the config named, by name. */
  readonly families: ReadonlyMap<string, FamilyInstance>;
  readonly delivery?: DeliveryService;
  readonly firmware?: FirmwareFamily;
  readonly targets: readonly ManagedTarget[];
  readonly boot: BootReport;
  readonly log: Logger;
  /** One poll of the pull-model manager now. */
  pollOnce(): Promise<CycleSummary>;
  /** Runs a family now (through the scheduler when it runs, so runs never overlap). */
  trigger(family: string, reason?: RunReason): Promise<RunResult | undefined>;
  /** What `dm-agent info` shows: versions and each family's status. */
  info(): AgentInfo;
  /** Runs the scheduler until `stop()` or `close()`. */
  run(): Promise<void>;
  stop(): void;
  close(): Promise<void>;
}

export class AgentError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'noDelivery' | 'noFamily' | 'closed';
  constructor(code: AgentError['code'], message: string) {
    super(message);
    this.code = code;
    this.name = 'AgentError';
  }
}

export async function createAgent(device: Device, boardInput: unknown, configInput: unknown, options: AgentOptions = {}): Promise<Agent> {
  // Validate everything before touching the device.
  const board = parseBoard(boardInput);
  // A QuickJS board rebuilds each wire schema per check rather than keep them all (transport/schema.ts onDemand).
  retainSchemas(board.runtime !== 'quickjs');
  const config = await loadConfig(configInput);
  const log = createLogger(device, config.logLevel);
  // The engine picker is a chunk: a host that offers its engines (a QuickJS board's firmware) never loads it.
  const engines = options.engines && config.engine !== 'js' ? options.engines : await (await import('../wasm/load.ts')).loadEngines({ ...(device.wasm ? { wasm: device.wasm } : {}), ...(device.digest ? { native: device.digest } : {}), engine: config.engine });
  // Signed metadata (TUF) is a chunk of its own (./trust/signed.ts), imported only when the config
  // has a root of trust: with `trust.allowUnsigned` (or no trust section) it is never loaded. It
  // checks the configured root against its own keys before the device is touched.
  const signedTrust = config.trust && !config.trust.allowUnsigned ? await (await import('./trust/signed.ts')).loadSignedTrust(device, config as AgentConfig & { trust: SignedTrustConfig }, engines) : undefined;

  const partition = await device.flash.open({ partition: 'state' });
  const store = await openStore(partition, 'state', log);
  // The package DB gets its own store when the board sizes one for its package count (board.ts)
  // and a configured family keeps packages (`packages` in ./families/registry.ts: the pull-model one).
  const configured = (entry: FamilyEntry) => (config as unknown as Record<string, unknown>)[entry.name] !== undefined;
  const pkgdbPartition = findPartition(board, 'pkgdb') && FAMILIES.some((entry) => entry.packages && configured(entry)) ? await device.flash.open({ partition: 'pkgdb' }) : undefined;
  const packageStore = pkgdbPartition ? await openStore(pkgdbPartition, 'pkgdb', log) : undefined;

  const identity = await device.system.identity();
  const targets: ManagedTarget[] = [{ id: identity.deviceId, kind: 'device' }, ...config.users.map((user) => ({ id: `user:${user}`, kind: 'user' as const }))];
  // Only a family that roams needs the tracker (a chunk): others read the last counter from the store.
  const roaming = FAMILIES.some((entry) => entry.roams && configured(entry))
    ? new (await import('./roaming/tracker.ts')).RoamingTracker(store)
    : undefined;
  const random01 = () => (device.random.bytes(1)[0] as number) / 256;
  const outbox = new Outbox({ store, clock: device.clock, log, random01 });

  let abort = createAbort();
  const emit = (family: string, event: { kind: string; [field: string]: unknown }) => {
    if (family === 'delivery') options.onDeliveryEvent?.(event as DeliveryEvent);
    options.onFamilyEvent?.({ ...event, family });
  };
  const scheduler = new Scheduler({ device, store, log, emit });

  const trust = config.trust;
  if (trust?.allowUnsigned) log.warn('trust.allowUnsigned: updates are installed WITHOUT signed metadata (the manager\'s digest only)');
  const families = new Map<string, FamilyInstance>();
  for (const entry of FAMILIES) {
    const section = (config as unknown as Record<string, unknown>)[entry.name];
    if (section === undefined) continue;
    const definition = await entry.load();
    const family = definition.create({
      device,
      store,
      ...(packageStore ? { packageStore } : {}),
      engines,
      outbox,
      log,
      config: section as never,
      downloadChunkBytes: board.downloadChunkBytes,
      targets,
      get roaming(): RoamingTracker {
        if (!roaming) throw new Error(`family ${entry.name} uses the roaming tracker but its registry entry does not say it roams`);
        return roaming;
      },
      emit: (event) => emit(definition.name, event),
      wake: (reason, delayMs) => void scheduler.wake(definition.name, reason, delayMs),
      signal: () => abort.signal,
      trust: ({ metadataUrl }) => {
        if (!trust) throw new ConfigError('trust: missing (a family cannot install without a root of trust)'); // parseConfig requires one
        const gate: TrustGateOptions = { device, store, log, repository: definition.name, metadataUrl, referenceCounter: () => (roaming ? roaming.state().referenceCounter : storedReferenceCounter(store)), signal: () => abort.signal };
        return signedTrust ? signedTrust.gate(gate) : unsignedTrustGate(log, definition.name);
      },
    });
    families.set(family.name, family);
  }
  checkPrefixes([...families.values()]);
  let pendingJobs = 0;
  let setAsideJobs = 0;
  for (const family of families.values()) {
    const booted = await family.boot();
    pendingJobs += booted.pending;
    setAsideJobs += booted.setAside;
    scheduler.add(family);
  }
  // Wake-ups go through the scheduler, so a pushed run never overlaps a scheduled one.
  // The push channel (MQTT, the wake-up wire format) is a chunk of its own: loaded only when configured.
  const push = config.push
    ? (await import('./push/index.ts')).createPushChannel({ device, config: config.push, deviceId: identity.deviceId, families: [...families.values()], scheduler, log, emit })
    : undefined;
  const boot: BootReport = { store: store.report, engine: engines.kind, ...(signedTrust ? { verifier: signedTrust.kind } : {}), pendingJobs, setAsideJobs };
  log.info('agent started', { version: AGENT_VERSION, board: board.name, platform: device.platform, engine: engines.kind, verifier: boot.verifier, families: [...families.keys()], pendingJobs, setAsideJobs });

  // After boot the agent needs the board's name only: the profile is kept as its JSON text, parsed
  // again when `board` is read (one string instead of ~10 objects and arrays in a QuickJS heap, for
  // the agent's whole life: issue 16). No closure below refers to `board` itself.
  const boardText = JSON.stringify(board);
  const boardName = board.name;
  let closed = false;
  /** A run started after `stop()` gets a fresh signal (the stop ended the earlier runs). */
  const renew = () => {
    if (abort.signal.aborted && !scheduler.running) abort = createAbort();
  };
  const guard = () => {
    if (closed) throw new AgentError('closed', 'agent is closed');
  };
  const delivery = families.get('delivery') as DeliveryFamily | undefined;
  const firmware = families.get('firmware') as FirmwareFamily | undefined;

  return {
    version: AGENT_VERSION,
    get board(): Board {
      return JSON.parse(boardText) as Board;
    },
    config,
    store,
    engines,
    ...(roaming ? { roaming } : {}),
    outbox,
    families,
    ...(push ? { push } : {}),
    ...(delivery ? { delivery: delivery.service } : {}),
    ...(firmware ? { firmware } : {}),
    targets,
    boot,
    log,
    async pollOnce() {
      guard();
      renew();
      if (!delivery) throw new AgentError('noDelivery', 'the configuration has no delivery section');
      return delivery.service.cycle();
    },
    async trigger(name, reason = 'manual') {
      guard();
      const family = families.get(name);
      if (!family) throw new AgentError('noFamily', `the configuration has no ${name} section`);
      if (scheduler.wake(name, reason)) return undefined;
      renew();
      return family.run(reason);
    },
    info() {
      return { version: AGENT_VERSION, board: boardName, platform: device.platform, families: [...families.values()].map((family) => family.status()) };
    },
    async run() {
      guard();
      renew();
      const signal = abort.signal;
      await Promise.all([scheduler.run(signal), push?.run(signal)]);
    },
    stop() {
      abort.abort('stopped');
    },
    async close() {
      if (closed) return;
      closed = true;
      abort.abort('closed');
      await store.close();
      partition.close();
      await packageStore?.close();
      pkgdbPartition?.close();
    },
  };
}

async function openStore(partition: Parameters<typeof KeyValueStore.open>[0], name: string, log: Logger): Promise<KeyValueStore> {
  const store = await KeyValueStore.open(partition);
  if (store.report.corruption.length > 0) log.error(`${name} store damaged; opened with what was readable`, { corruption: store.report.corruption });
  else if (store.report.tornTail) log.info(`${name} store: last write was interrupted (power cut); recovered`);
  return store;
}

export type { Board } from './board.ts';
export type { AgentConfig } from './config-base.ts';
export type { CycleSummary, DeliveryEvent } from './delivery/events.ts';
export type { FamilyStatus, RunReason } from './families/family.ts';
export { AGENT_VERSION } from './version.ts';
// The HAL's typed errors, so a host bridge (hal/quickjs/) can rebuild errors as the classes this bundle checks with instanceof.
export { DiffInputError, EngineError, HashError, SyncmlError } from '../wasm/src/errors.ts';
export { AccessDeniedError, ClosedError, FlashError, HalError, InvalidOptionsError, NetworkError, NotFoundError, PowerCutError, UpdateError } from '../hal/errors.ts';
