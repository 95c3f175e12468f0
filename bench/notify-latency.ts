/**
 * `notify-latency` (ms, p99; peer `p50`): a CBOR wake-up published on a real mosquitto → the
 * first request of the poll it causes, received by the reference manager over loopback HTTP. One
 * agent (mock HAL, Node HAL clock, HTTP and MQTT), `samples` pushes, one at a time, each after
 * the previous poll ended. Target (issue 16): ≤ 50 ms p99.
 */
import mqtt from 'mqtt';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWake } from '../agent/push/message.ts';
import { writeDemoFleet } from '../cli/demo/fixture.ts';
import { createNodeNet } from '../hal/node/net.ts';
import { createManager, loadFleet } from '../server/index.ts';
import { startServer } from '../server/http.ts';
import { startMosquitto } from '../test/support/mosquitto.ts';
import { startPushAgent, waitFor } from './push-rig.ts';

export const NOTIFY_TARGET_MS = 50;

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export async function benchNotifyLatency(samples: number): Promise<{ name: string; value: number; peers: Record<string, number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-bench-notify-'));
  const broker = await startMosquitto();
  const net = createNodeNet();
  let received: number | undefined;
  const fleet = await loadFleet(await writeDemoFleet(join(dir, 'manager'), join(dir, 'root'), ['bench-1'], [], []), join(dir, 'manager'));
  const manager = createManager({ fleet, address: 'http://127.0.0.1', deviceAuth: 'off' });
  // The first request of the poll marks its arrival (the protocol's routes live under /dm/).
  const server = await startServer({ ...manager, adminToken: manager.adminToken, handle: (request) => ((received ??= request.url.startsWith('/dm/') ? performance.now() : undefined), manager.handle(request)) } as typeof manager, { host: '127.0.0.1', port: 0 });
  const publisher = await mqtt.connectAsync(broker.url, { clientId: 'bench-notify', reconnectPeriod: 0 });
  const pushAgent = await startPushAgent({ deviceId: 'bench-1', http: net.http, mqtt: net.mqtt, managerUrl: server.url, brokerUrl: broker.url });
  try {
    await waitFor(() => pushAgent.connected() && pushAgent.cycles() === 1, 30_000, 'the agent to connect and poll once');
    const latencies: number[] = [];
    for (let i = 0; i < samples + 3; i++) {
      const done = pushAgent.cycles();
      received = undefined;
      const sent = performance.now();
      await publisher.publishAsync('dm/bench-1/wake', Buffer.from(encodeWake({ t: 'poll', id: `n${i}` })), { qos: 1 });
      await waitFor(() => pushAgent.cycles() > done, 30_000, 'the pushed poll', 1);
      if (i >= 3) latencies.push((received ?? Number.NaN) - sent); // the first three warm up
    }
    return { name: 'notify-latency', value: percentile(latencies, 99), peers: { p50: percentile(latencies, 50), target: NOTIFY_TARGET_MS } };
  } finally {
    await pushAgent.stop();
    await publisher.endAsync();
    net.close();
    await server.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
