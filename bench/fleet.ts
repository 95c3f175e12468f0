/**
 * `fleet` (s; `npm run fleet -- --agents N`, and the `fleet` benchmark): N agents on the mock HAL in
 * one process, the reference manager mounted on the mock network (in-process HTTP: no sockets, so
 * the simulation measures the agents, not the kernel), and a real broker — mosquitto by default,
 * or aedes embedded in this process, or the mock HAL's in-memory one. Every agent connects, polls
 * once at boot; then ONE wake-up on the fleet topic (`dm/all/wake`) → time until every agent's
 * pushed poll has ended. Reports RSS per agent. Target (issue 16): 10 000 agents ≤ 60 s.
 */
import mqtt from 'mqtt';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWake } from '../agent/push/message.ts';
import { writeDemoFleet } from '../cli/demo/fixture.ts';
import { createMockNetwork } from '../hal/mock/net.ts';
import { createNodeNet } from '../hal/node/net.ts';
import { createManager, loadFleet } from '../server/index.ts';
import { startPushBroker } from '../server/push.ts';
import { startMosquitto } from '../test/support/mosquitto.ts';
import { type PushAgent, startPushAgent, waitFor } from './push-rig.ts';

export const FLEET_TARGET_S = 60;
const MANAGER = 'http://manager.fleet';

export type FleetBroker = 'mosquitto' | 'aedes' | 'mock';

export interface FleetResult {
  agents: number;
  broker: FleetBroker;
  /** Seconds from the one publish until every pushed poll ended. */
  wakeSeconds: number;
  /** Seconds to start every agent (connect + boot poll). */
  startSeconds: number;
  /** (RSS with every agent idle − RSS before) / agents, KiB. */
  rssPerAgentKiB: number;
  rssMiB: number;
  /** CPU seconds (user + system) this process spent starting the fleet / from the publish to the end (the broker's own CPU not included). */
  startCpuSeconds: number;
  wakeCpuSeconds: number;
}

export async function runFleet(options: {
  agents: number;
  broker?: FleetBroker;
  batch?: number;
  log?: (line: string) => void;
  /** Writes a V8 CPU profile of the wake-up phase alone (publish → every session done) to this file. */
  cpuProfile?: string;
}): Promise<FleetResult> {
  const { agents } = options;
  const brokerKind = options.broker ?? 'mosquitto';
  const log = options.log ?? (() => undefined);
  const batch = options.batch ?? 250;
  const dir = await mkdtemp(join(tmpdir(), 'dm-fleet-'));
  const fleet = await loadFleet(await writeDemoFleet(join(dir, 'manager'), join(dir, 'root'), [], [], []), join(dir, 'manager'));
  const manager = createManager({ fleet, address: MANAGER, maxEnrolments: agents, deviceAuth: 'off' });
  // No request log: four requests per poll, 80 000 for 10 000 agents polling twice, and nobody reads them here.
  const network = createMockNetwork({ requestLog: 0 });
  network.route(MANAGER, manager.handle);
  const mosquitto = brokerKind === 'mosquitto' ? await startMosquitto() : undefined;
  const aedes = brokerKind === 'aedes' ? await startPushBroker() : undefined;
  const brokerUrl = mosquitto?.url ?? aedes?.url ?? network.brokerUrl;
  const net = brokerKind === 'mock' ? undefined : createNodeNet();
  const fleetAgents: PushAgent[] = [];
  let publisher: mqtt.MqttClient | undefined;
  try {
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const startCpu = process.cpuUsage();
    for (let i = 0; i < agents; i += batch) {
      const count = Math.min(batch, agents - i);
      const next = await Promise.all(
        Array.from({ length: count }, (_, k) =>
          startPushAgent({ deviceId: `fleet-${String(i + k).padStart(6, '0')}`, network, ...(net ? { mqtt: net.mqtt } : {}), managerUrl: MANAGER, brokerUrl }),
        ),
      );
      fleetAgents.push(...next);
      // Let this batch connect and poll before the next one starts: a real fleet does not boot in one millisecond either.
      await waitFor(() => next.every((a) => a.connected() && a.cycles() >= 1), 600_000, `batch at ${i} to connect and poll`, 20);
      if ((i / batch) % 8 === 0) log(`  ${fleetAgents.length}/${agents} agents up (${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)`);
    }
    const startSeconds = (performance.now() - started) / 1000;
    const startCpuSeconds = cpuSeconds(process.cpuUsage(startCpu));
    globalThis.gc?.();
    const rss = process.memoryUsage().rss;
    const before = fleetAgents.map((a) => a.cycles());
    const send = async () => {
      const wake = encodeWake({ t: 'poll', id: `fleet-${Date.now().toString(36)}` });
      if (brokerKind === 'mock') {
        const sender = await network.attach({ name: 'fleet-sender' }).mqtt.connect({ url: brokerUrl, clientId: 'fleet-sender' });
        await sender.publish('dm/all/wake', wake, { qos: 1 });
        return;
      }
      publisher = await mqtt.connectAsync(brokerUrl, { clientId: 'fleet-sender', reconnectPeriod: 0 });
      await publisher.publishAsync('dm/all/wake', Buffer.from(wake), { qos: 1 });
    };
    const profiler = options.cpuProfile === undefined ? undefined : await startProfile();
    const woke = performance.now();
    const wakeCpu = process.cpuUsage();
    await send();
    await waitFor(() => fleetAgents.every((a, i) => a.cycles() > (before[i] as number)), 1_800_000, 'every pushed poll', 20);
    const wakeSeconds = (performance.now() - woke) / 1000;
    const wakeCpuSeconds = cpuSeconds(process.cpuUsage(wakeCpu));
    if (profiler && options.cpuProfile !== undefined) await writeFile(options.cpuProfile, JSON.stringify(await profiler.stop()));
    return { agents, broker: brokerKind, wakeSeconds, startSeconds, startCpuSeconds, wakeCpuSeconds, rssPerAgentKiB: (rss - rssBefore) / agents / 1024, rssMiB: rss / 2 ** 20 };
  } finally {
    for (let i = 0; i < fleetAgents.length; i += batch) await Promise.all(fleetAgents.slice(i, i + batch).map((a) => a.stop().catch(() => undefined)));
    await publisher?.endAsync();
    net?.close();
    await aedes?.close();
    await mosquitto?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

/** The inspector's sampling profiler, so that a profile shows the wake-up without the start-up around it. */
async function startProfile(): Promise<{ stop(): Promise<object> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 100 µs: a session costs ~1 ms of CPU, the default 1 ms interval would see little of it.
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}
