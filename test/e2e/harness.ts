/** Shared set-up for the end-to-end delivery tests: a real manager on loopback, a fleet on disk, Node-HAL devices. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, type DeliveryEvent, createAgent } from '../../agent/index.ts';
import { createNodeDevice, type NodeDevice } from '../../hal/node/index.ts';
import { loadFleet, startManager, type RunningManager } from '../../server/index.ts';
import { DEMO_FIRST, writeDemoFleet } from '../../cli/demo/fixture.ts';
import type { Fleet } from '../../server/fleet.ts';

export const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8'));

export interface Rig {
  dir: string;
  installRoot: string;
  servers: RunningManager[];
  devices: NodeDevice[];
  agents: Agent[];
  cleanup(): Promise<void>;
}

export async function newRig(): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-e2e-'));
  const rig: Rig = {
    dir,
    installRoot: join(dir, 'device-root'),
    servers: [],
    devices: [],
    agents: [],
    async cleanup() {
      for (const agent of rig.agents) await agent.close().catch(() => undefined);
      for (const device of rig.devices) await device.close().catch(() => undefined);
      for (const server of rig.servers) await server.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** The managers of one rig share this peer secret and know each other as peers (one deployment). */
const RIG_PEER_SECRET = 'e2e-rig-peer-secret-0123456789';

export async function startFleetManager(rig: Rig, options: { deviceIds: string[]; name?: string; clockOffsetMs?: number; tls?: { cert: string; key: string }; assignment?: typeof DEMO_FIRST; mutate?: (fleet: Record<string, any>) => void; metadata?: (fleet: Fleet) => Promise<string> }): Promise<RunningManager> {
  const fleetDir = join(rig.dir, options.name ?? `manager-${rig.servers.length}`);
  const json = await writeDemoFleet(fleetDir, rig.installRoot, options.deviceIds, options.assignment);
  options.mutate?.(json);
  const fleet = await loadFleet(json, fleetDir);
  const metadataDir = options.metadata ? await options.metadata(fleet) : undefined;
  const server = await startManager({
    ...(metadataDir !== undefined ? { metadataDir } : {}),
    fleet,
    host: '127.0.0.1',
    port: 0,
    faults: true,
    peerSecret: RIG_PEER_SECRET,
    peers: rig.servers.map((other) => other.url),
    ...(options.clockOffsetMs !== undefined ? { clockOffsetMs: options.clockOffsetMs } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  for (const other of rig.servers) other.manager.peers.add(server.url);
  rig.servers.push(server);
  return server;
}

export async function nodeAgent(rig: Rig, options: { deviceId: string; manager: string; config?: Record<string, unknown>; delivery?: Record<string, unknown>; events?: DeliveryEvent[]; ca?: string; fileRoots?: string[] }): Promise<{ agent: Agent; device: NodeDevice }> {
  const device = await createNodeDevice({
    workDir: join(rig.dir, `work-${options.deviceId}`),
    board: sim,
    identity: { deviceId: options.deviceId, model: 'sim' },
    log: { level: 'error' },
    ...(options.ca ? { net: { ca: options.ca } } : {}),
    ...(options.fileRoots ? { fileRoots: options.fileRoots } : {}),
  });
  const agent = await createAgent(
    device,
    sim,
    { logLevel: 'error', trust: { allowUnsigned: true }, ...options.config, delivery: { manager: options.manager, download: { checkpointBytes: 64 * 1024 }, ...options.delivery } },
    options.events ? { onDeliveryEvent: (event) => options.events?.push(event) } : {},
  );
  rig.devices.push(device);
  rig.agents.push(agent);
  return { agent, device };
}

export async function api<T = any>(server: RunningManager, method: string, path: string, body?: unknown): Promise<T> {
  const auth = { authorization: `Bearer ${server.manager.adminToken}` };
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json', ...auth } : auth,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
