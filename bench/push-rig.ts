/**
 * What the push benchmarks share (`notify-latency`, `fleet`): a small board that fits thousands of
 * mock devices in one process, and an agent on the mock HAL whose clock and MQTT (and, for the
 * latency, HTTP) come from the Node HAL, running the delivery family with a push channel.
 */
import { type Agent, createAgent, type FamilyEvent } from '../agent/index.ts';
import { MockHardware, mockOptionsFromBoard } from '../hal/mock/index.ts';
import type { MockNetwork } from '../hal/mock/net.ts';
import { NodeClock } from '../hal/node/clock.ts';
import type { HttpClient, MqttClient } from '../hal/types.ts';

/** The required partitions only, small: a mock device allocates its whole flash up front. */
export const FLEET_BOARD = {
  name: 'fleet',
  description: 'A mock device for fleet simulations: just enough flash for the state store.',
  runtime: 'node',
  architecture: 'any',
  flash: { blockLength: 4096, writeAlign: 8, eraseValue: 255 },
  partitions: [
    { name: 'bootctl', offset: 0, size: 8192 },
    { name: 'state', offset: 8192, size: 32768 },
    { name: 'slot_a', offset: 40960, size: 4096 },
    { name: 'slot_b', offset: 45056, size: 4096 },
  ],
};

export interface PushAgent {
  agent: Agent;
  /** Delivery cycles finished so far. */
  cycles(): number;
  connected(): boolean;
  stop(): Promise<void>;
}

export async function startPushAgent(options: {
  deviceId: string;
  network?: MockNetwork;
  http?: HttpClient;
  mqtt?: MqttClient;
  managerUrl: string;
  brokerUrl: string;
  onEvent?: (event: FamilyEvent) => void;
}): Promise<PushAgent> {
  const hardware = new MockHardware({ ...mockOptionsFromBoard(FLEET_BOARD), identity: { deviceId: options.deviceId, model: 'fleet' }, ...(options.network ? { network: options.network } : {}) });
  const mock = hardware.boot();
  await hardware.booted;
  const device = { ...mock, clock: new NodeClock(), net: { ...mock.net, ...(options.http ? { http: options.http } : {}), ...(options.mqtt ? { mqtt: options.mqtt } : {}) } };
  let cycles = 0;
  let connected = false;
  const config = {
    engine: 'js',
    logLevel: 'error',
    trust: { allowUnsigned: true },
    // The fleet measures the push channel: plain HTTP on loopback, the manager's device auth off.
    delivery: { manager: options.managerUrl, allowInsecure: true, deviceAuth: false, schedule: { intervalMs: 86_400_000, jitterMs: 0 } },
    // A fleet reconnecting at once after a broker restart must not come back in lockstep.
    push: { mqtt: { url: options.brokerUrl, keepAliveMs: 300_000, backoff: { initialMs: 500, maxMs: 30_000 } } },
  };
  const agent = await createAgent(device, FLEET_BOARD, config, {
    onFamilyEvent: (event) => {
      if (event.family === 'delivery' && event.kind === 'cycleEnd') cycles++;
      if (event.family === 'push') connected = event.kind === 'connected' ? true : event.kind === 'disconnected' ? false : connected;
      options.onEvent?.(event);
    },
  });
  const running = agent.run();
  return {
    agent,
    cycles: () => cycles,
    connected: () => connected,
    async stop() {
      agent.stop();
      await running;
      await agent.close();
      await mock.close();
    },
  };
}

/** Polls `check` every `everyMs` until true or `ms` passed (then throws `what`). */
export async function waitFor(check: () => boolean, ms: number, what: string, everyMs = 5): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
