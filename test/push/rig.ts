/**
 * The push tests' world: one phone on the mock HAL running all three families against their
 * reference servers on the in-process network (the pull-model manager, the device update web
 * service, the OMA DM server), with its MQTT facet and clock taken from the Node HAL so the push
 * channel talks to a real broker (mosquitto) in real time.
 */
import { acceptDevice } from '../e2e/mock-rig.ts';
import { join } from 'node:path';
import { type Agent, createAgent, type FamilyEvent } from '../../agent/index.ts';
import { createNodeNet } from '../../hal/node/net.ts';
import { NodeClock } from '../../hal/node/clock.ts';
import type { Device } from '../../hal/types.ts';
import { createManager, loadFleet } from '../../server/index.ts';
import { writeDemoFleet } from '../../cli/demo/fixture.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { CLIENT, DEVICE_ID, mockWorld as omadmWorld, SERVER, type MockWorld } from '../omadm/session-rig.ts';
import { mount, testService } from '../server/updates-fixture.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

export const MANAGER = 'http://manager.test';

export interface PushWorld {
  world: MockWorld;
  /** Requests the manager got (delivery polls). */
  polls(): number;
  /** Update checks the web service got (firmware). */
  checks(): number;
  /** Client-initiated OMA DM sessions (Alert 1201) and server-initiated ones (1200, after package #0). */
  sessions(initiated: 'client' | 'server'): number;
  events: FamilyEvent[];
  start(push: Record<string, unknown>, families?: ('delivery' | 'firmware' | 'omadm')[]): Promise<Agent>;
  cleanup(): Promise<void>;
}

export async function pushWorld(): Promise<PushWorld> {
  const world = await omadmWorld();
  const dir = await mkdtemp(join(tmpdir(), 'dm-push-'));
  const fleetJson = await writeDemoFleet(join(dir, 'manager'), '/device-root', [DEVICE_ID], [], []);
  const manager = createManager({ fleet: await loadFleet(fleetJson, join(dir, 'manager')), address: MANAGER });
  world.network.route(MANAGER, manager.handle);
  const service = await testService();
  mount(world.network, service);
  const net = createNodeNet();
  const events: FamilyEvent[] = [];
  const agents: Agent[] = [];
  const device = (): Device => {
    const mock = world.hardware.device!;
    return { ...mock, clock: new NodeClock(), net: { ...mock.net, mqtt: net.mqtt } };
  };
  return {
    world,
    events,
    polls: () => world.network.requests.filter((r) => r.url.startsWith(MANAGER)).length,
    checks: () => service.journal().filter((e) => e.type === 'check').length,
    sessions: (initiated) => world.server.journal.of('session').filter((s) => s.initiated === initiated).length,
    async start(push, families = ['delivery', 'firmware', 'omadm']) {
      // Long schedules: after the boot runs, only push wake-ups make the families run again.
      const schedule = { intervalMs: 86_400_000, jitterMs: 0 };
      const sections: Record<string, unknown> = {
        delivery: { manager: MANAGER, allowInsecure: true, schedule },
        firmware: { service: service.serviceUrls(), allowInsecure: true, schedule },
        omadm: {
          accounts: [{ id: 'srv1', serverId: SERVER.serverId, addr: world.server.url, allowInsecure: true, authPref: 'DIGEST', client: CLIENT, server: { name: SERVER.name, secret: SERVER.secret } }],
          udpPort: 0,
          retries: 0,
          encoding: 'wbxml',
          schedule: { ...schedule, onBoot: false },
        },
      };
      const config = { engine: 'js', logLevel: 'info', trust: { allowUnsigned: true }, push, ...Object.fromEntries(families.map((name) => [name, sections[name]])) };
      const d = device();
      await acceptDevice(manager, d); // the operator accepted the device's key beforehand
      const agent = await createAgent(d, phoneBoard, config, { onFamilyEvent: (event) => events.push(event) });
      agents.push(agent);
      return agent;
    },
    async cleanup() {
      for (const agent of agents) await agent.close().catch(() => undefined);
      net.close();
      await rm(dir, { recursive: true, force: true });
      await world.cleanup();
    },
  };
}

/** Polls `check` every 10 ms, up to `ms` (generous: the machine is shared). */
export async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
