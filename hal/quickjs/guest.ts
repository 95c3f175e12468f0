/**
 * The guest side of the QuickJS host (bundled by hal/quickjs/bundle.ts, run inside QuickJS next to
 * dist/agent.js: the bundle maps the agent/index.ts import to the module 'dm-agent', i.e. that file). It connects a bridge endpoint to the
 * host functions `__dmHost`, and offers the host one root object: `start(device, board, config)`
 * creates the agent on the bridged device and answers with a small facade (the agent object itself
 * is a graph of stores and engines that must not cross the bridge).
 */
import * as agentModule from '../../agent/index.ts';
import { Endpoint, type Packed, classReviver } from './wire.ts';

type Wire = [string, ...ArrayBuffer[]];
interface HostFunctions {
  invoke(id: number, json: string, ...buffers: ArrayBuffer[]): Wire;
  settle(promiseId: number, ok: boolean, json: string, ...buffers: ArrayBuffer[]): void;
  release(id: number): void;
}

const host = (globalThis as unknown as { __dmHost: HostFunctions }).__dmHost;
const toWire = (packed: Packed): Wire => [packed.json, ...packed.buffers];
const fromWire = (wire: Wire): Packed => ({ json: wire[0], buffers: wire.slice(1) as ArrayBuffer[] });

// Errors from the host come back as the agent bundle's own classes, so its instanceof checks hold.
const errorClasses: Record<string, { prototype: object }> = {
  HalError: agentModule.HalError,
  InvalidOptionsError: agentModule.InvalidOptionsError,
  ClosedError: agentModule.ClosedError,
  FlashError: agentModule.FlashError,
  PowerCutError: agentModule.PowerCutError,
  NetworkError: agentModule.NetworkError,
  AccessDeniedError: agentModule.AccessDeniedError,
  NotFoundError: agentModule.NotFoundError,
  UpdateError: agentModule.UpdateError,
  DiffInputError: agentModule.DiffInputError,
  EngineError: agentModule.EngineError,
  HashError: agentModule.HashError,
  SyncmlError: agentModule.SyncmlError,
};

// QuickJS frees dropped proxies at once but finalizes them only in a rare cycle GC: swept instead (./wire.ts).
const endpoint = new Endpoint(classReviver(errorClasses), 'sweep');
endpoint.connect({
  invoke: (id, args) => fromWire(host.invoke(id, args.json, ...args.buffers)),
  settle: (promiseId, ok, value) => host.settle(promiseId, ok, value.json, ...value.buffers),
  release: (id) => host.release(id),
});

const root = {
  /** Hands a value back as the guest sees it: the host then calls the guest's proxies (the HAL suites run through the bridge this way). */
  echo: (value: unknown) => value,
  async start(device: Parameters<typeof agentModule.createAgent>[0], board: unknown, config: unknown, engines?: agentModule.AgentOptions['engines']) {
    endpoint.pin(); // the device view and the engines: the agent's for its whole life
    const agent = await agentModule.createAgent(device as never, board, config, engines ? { engines } : {});
    return {
      version: agent.version,
      boot: { engine: agent.boot.engine, verifier: agent.boot.verifier, fresh: agent.boot.store.fresh, pendingJobs: agent.boot.pendingJobs },
      pollOnce: () => agent.pollOnce(),
      trigger: async (family: string, reason?: string) => plain(await agent.trigger(family, reason as never)),
      info: () => plain(agent.info()),
      firmware: async () => (agent.firmware ? plain({ last: agent.firmware.last, info: await agent.firmware.info() }) : undefined),
      close: () => agent.close(),
    };
  },
};

/** Data only (results and statuses may hold class instances the bridge must not walk). */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

(globalThis as unknown as { __dmGuest: unknown }).__dmGuest = {
  root: () => toWire(endpoint.pack(root)),
  invoke: (id: number, json: string, ...buffers: ArrayBuffer[]) => toWire(endpoint.invoke(id, { json, buffers })),
  settle: (promiseId: number, ok: boolean, json: string, ...buffers: ArrayBuffer[]) => endpoint.settle(promiseId, ok, { json, buffers }),
  release: (id: number) => endpoint.release(id),
  sizes: () => [JSON.stringify(endpoint.sizes)],
};
