/**
 * dm-agent: `createAgent(device, board, config)` is the whole public entry point. The host hands
 * in its HAL (`device`, see hal/types.ts), the board profile and the configuration; the agent
 * never imports a platform module, so this file's bundle (dist/agent.js) runs on Node and QuickJS.
 */
import type { Device } from '../hal/types.ts';
import { type Engines, loadEngines } from '../wasm/index.ts';
import { type Board, parseBoard } from './board.ts';
import { type AgentConfig, parseConfig } from './config.ts';
import type { CycleSummary, DeliveryEvent } from './delivery/events.ts';
import { DeliveryService } from './delivery/service.ts';
import { runScheduler } from './delivery/scheduler.ts';
import { createLogger, type Logger } from './log.ts';
import { type ManagedTarget, RoamingTracker } from './roaming/index.ts';
import { KeyValueStore, type StoreOpenReport } from './store/index.ts';
import { createAbort } from './util/abort.ts';
import { AGENT_VERSION } from './version.ts';

export interface AgentOptions {
  /** Progress of the pull-model family (for UIs such as the demo's progress bars). */
  onDeliveryEvent?: (event: DeliveryEvent) => void;
}

export interface BootReport {
  store: StoreOpenReport;
  engine: Engines['kind'];
  pendingJobs: number;
}

export interface Agent {
  readonly version: string;
  readonly board: Board;
  readonly config: AgentConfig;
  readonly store: KeyValueStore;
  readonly engines: Engines;
  readonly roaming: RoamingTracker;
  readonly delivery?: DeliveryService;
  readonly targets: readonly ManagedTarget[];
  readonly boot: BootReport;
  readonly log: Logger;
  /** One poll of the pull-model manager now. */
  pollOnce(): Promise<CycleSummary>;
  /** Runs the schedulers until `stop()` or `close()`. */
  run(): Promise<void>;
  stop(): void;
  close(): Promise<void>;
}

export class AgentError extends Error {
  readonly code: 'noDelivery' | 'closed';
  constructor(code: AgentError['code'], message: string) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
  }
}

export async function createAgent(device: Device, boardInput: unknown, configInput: unknown, options: AgentOptions = {}): Promise<Agent> {
  // Validate everything before touching the device.
  const board = parseBoard(boardInput);
  const config = parseConfig(configInput);
  const log = createLogger(device, config.logLevel);

  const partition = await device.flash.open({ partition: 'state' });
  const store = await KeyValueStore.open(partition);
  if (store.report.corruption.length > 0) log.error('state store damaged; opened with what was readable', { corruption: store.report.corruption });
  else if (store.report.tornTail) log.info('state store: last write was interrupted (power cut); recovered');

  const engines = await loadEngines({ ...(device.wasm ? { wasm: device.wasm } : {}), engine: config.engine });
  const identity = await device.system.identity();
  const targets: ManagedTarget[] = [{ id: identity.deviceId, kind: 'device' }, ...config.users.map((user) => ({ id: `user:${user}`, kind: 'user' as const }))];
  const roaming = new RoamingTracker(store);
  const delivery = config.delivery
    ? new DeliveryService({ device, store, engines, config: config.delivery, targets, roaming, log, ...(options.onDeliveryEvent ? { onEvent: options.onDeliveryEvent } : {}) })
    : undefined;
  const pendingJobs = delivery ? await delivery.boot() : 0;
  const boot: BootReport = { store: store.report, engine: engines.kind, pendingJobs };
  log.info('agent started', { version: AGENT_VERSION, board: board.name, platform: device.platform, engine: engines.kind, pendingJobs });

  let abort = createAbort();
  let closed = false;
  const guard = () => {
    if (closed) throw new AgentError('closed', 'agent is closed');
  };

  return {
    version: AGENT_VERSION,
    board,
    config,
    store,
    engines,
    roaming,
    ...(delivery ? { delivery } : {}),
    targets,
    boot,
    log,
    async pollOnce() {
      guard();
      if (!delivery) throw new AgentError('noDelivery', 'the configuration has no delivery section');
      return delivery.cycle();
    },
    async run() {
      guard();
      if (abort.signal.aborted) abort = createAbort();
      const loops: Promise<void>[] = [];
      if (delivery && config.delivery)
        loops.push(
          runScheduler(
            {
              device,
              store,
              config: config.delivery.schedule,
              log,
              poll: () => delivery.cycle(),
              onFailure: (error, retryInMs) =>
                options.onDeliveryEvent?.({ kind: 'cycleFailed', error: error instanceof Error ? error.message : String(error), retryInMs }),
              onWait: (reason, delayMs) => options.onDeliveryEvent?.({ kind: 'waiting', reason, delayMs }),
            },
            abort.signal,
          ),
        );
      await Promise.all(loops);
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
    },
  };
}

export type { Board } from './board.ts';
export type { AgentConfig } from './config.ts';
export type { CycleSummary, DeliveryEvent } from './delivery/events.ts';
export { AGENT_VERSION } from './version.ts';

