/**
 * `dm-agent server` and push: it embeds a broker (aedes, MQTT 3.1.1: the agent falls back to it)
 * unless given `--mqtt-url`, then publishes through that one (mosquitto here, MQTT 5 for the
 * agent); the admin API's "push now" wakes one device or all of them; the OMA DM reference
 * server's package #0 goes through the same broker object.
 */
import { acceptDevice } from '../e2e/mock-rig.ts';
import mqtt from 'mqtt';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../cli/commands/server.ts';
import { writeDemoFleet } from '../../cli/demo/fixture.ts';
import { type Agent, createAgent, type FamilyEvent } from '../../agent/index.ts';
import { notificationTopic } from '../../agent/omadm/push.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { NodeClock } from '../../hal/node/clock.ts';
import { createNodeNet } from '../../hal/node/net.ts';
import { bearerHeader } from '../../server/auth.ts';
import type { RunningManager } from '../../server/http.ts';
import { publishMqttPush } from '../../server/omadm/notify.ts';
import type { PushBroker } from '../../server/push.ts';
import { sim } from '../e2e/harness.ts';
import { startMosquitto } from '../support/mosquitto.ts';
import { until } from './rig.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function server(args: string[] = []): Promise<{ manager: RunningManager; push: PushBroker | undefined; out: string; err: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-push-server-'));
  const fleet = await writeDemoFleet(join(dir, 'manager'), join(dir, 'root'), ['dev-a', 'dev-b'], [], []);
  await writeFile(join(dir, 'manager', 'fleet.json'), JSON.stringify(fleet));
  const controller = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  let resolveStarted!: (value: { manager: RunningManager; push: PushBroker | undefined }) => void;
  const started = new Promise<{ manager: RunningManager; push: PushBroker | undefined }>((resolve) => (resolveStarted = resolve));
  const exited = run(['--fleet', join(dir, 'manager', 'fleet.json'), '--port', '0', '--quiet', ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, { signal: controller.signal, onListening: (manager, push) => resolveStarted({ manager, push }) });
  cleanups.push(async () => {
    controller.abort();
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  const code = await Promise.race([exited, started.then(() => undefined)]);
  if (code !== undefined) return { manager: undefined as never, push: undefined, out: out.join(''), err };
  return { ...(await started), out: out.join(''), err };
}

async function agentFor(deviceId: string, manager: RunningManager, brokerUrl: string): Promise<{ agent: Agent; cycles: () => number; events: FamilyEvent[] }> {
  const hardware = new MockHardware({ ...mockOptionsFromBoard(sim), identity: { deviceId, model: 'mock' } });
  const mock = hardware.boot();
  await hardware.booted;
  const net = createNodeNet();
  const events: FamilyEvent[] = [];
  const device = { ...mock, clock: new NodeClock(), net: { ...mock.net, http: net.http, mqtt: net.mqtt } };
  // The operator accepted this device's key beforehand (the manager requires device tokens).
  await acceptDevice(manager.manager, device);
  const managerUrl = manager.url;
  const config = { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: managerUrl, allowInsecure: true, schedule: { intervalMs: 86_400_000, jitterMs: 0 } }, push: { mqtt: { url: brokerUrl } } };
  const agent = await createAgent(device, sim, config, { onFamilyEvent: (event) => events.push(event) });
  const running = agent.run();
  cleanups.push(async () => {
    agent.stop();
    await running;
    await agent.close();
    net.close();
  });
  const cycles = () => events.filter((e) => e.family === 'delivery' && e.kind === 'cycleEnd').length;
  await until(() => cycles() === 1 && events.some((e) => e.family === 'push' && e.kind === 'connected'));
  return { agent, cycles, events };
}

const post = (manager: RunningManager, path: string, body?: unknown, token = manager.manager.adminToken) =>
  fetch(`${manager.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearerHeader(token) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

describe('dm-agent server push', () => {
  it('embeds aedes (the agent falls back to MQTT 3.1.1); POST /api/devices/<id>/push and /api/push wake the agents', async () => {
    const { manager, push, out } = await server();
    expect(push?.kind).toBe('embedded');
    expect(out).toContain(`push broker: ${push!.url} (embedded, MQTT 3.1.1)`);
    const a = await agentFor('dev-a', manager, push!.url);
    const b = await agentFor('dev-b', manager, push!.url);
    expect(a.events.find((e) => e.family === 'push' && e.kind === 'connected')).toMatchObject({ protocolVersion: 4 });

    const one = await post(manager, '/api/devices/dev-a/push', { t: 'poll', family: 'delivery' });
    expect(one.status).toBe(202);
    expect(await one.json()).toMatchObject({ topic: 'dm/dev-a/wake' });
    await until(() => a.cycles() === 2);
    expect(b.cycles()).toBe(1);

    const all = await post(manager, '/api/push');
    expect(all.status).toBe(202);
    expect(await all.json()).toMatchObject({ topic: 'dm/all/wake' });
    await until(() => a.cycles() === 3 && b.cycles() === 2);

    expect((await post(manager, '/api/push', undefined, 'wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await post(manager, '/api/push', { t: 'reboot' })).status).toBe(400);
    expect((await post(manager, '/api/devices/nobody/push')).status).toBe(404);
    expect((await fetch(`${manager.url}/api/push`, { headers: bearerHeader(manager.manager.adminToken) })).status).toBe(405);
  });

  it('--mqtt-url publishes through an external broker (mosquitto: MQTT 5); package #0 goes through the same broker object', async () => {
    const mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.stop());
    const { manager, push } = await server(['--mqtt-url', mosquitto.url]);
    expect(push).toMatchObject({ kind: 'external', url: mosquitto.url });
    const a = await agentFor('dev-a', manager, mosquitto.url);
    expect(a.events.find((e) => e.family === 'push' && e.kind === 'connected')).toMatchObject({ protocolVersion: 5 });
    expect((await post(manager, '/api/devices/dev-a/push', { t: 'check' })).status).toBe(202);
    await until(() => a.cycles() === 2);
    // The OMA DM server's notifier takes the broker object: the bytes reach the device's pkg0 topic.
    const watcher = await mqtt.connectAsync(mosquitto.url, { clientId: 'watcher', reconnectPeriod: 0 });
    cleanups.push(() => watcher.endAsync());
    const got: string[] = [];
    watcher.on('message', (topic, payload) => got.push(`${topic} ${[...payload].join(',')}`));
    await watcher.subscribeAsync('dm/+/pkg0', { qos: 1 });
    await publishMqttPush(new Uint8Array([1, 2, 3]), push!, notificationTopic('dev-a'));
    await until(() => got.length === 1);
    expect(got).toEqual(['dm/dev-a/pkg0 1,2,3']);
  });

  it('--no-push: no broker, push answers 404; bad options are usage errors', async () => {
    const { manager, push } = await server(['--no-push']);
    expect(push).toBeUndefined();
    expect((await post(manager, '/api/push')).status).toBe(404);
    expect((await server(['--mqtt-url', 'http://x'])).err.join('')).toMatch(/--mqtt-url must be/);
    expect((await server(['--no-push', '--mqtt-port', '1'])).err.join('')).toMatch(/--no-push goes without/);
  });
});
