/** Shared set-up for the end-to-end delivery tests: a real manager on loopback, a fleet on disk, Node-HAL devices. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, type DeliveryEvent, createAgent } from '../../agent/index.ts';
import { createNodeDevice, type NodeDevice } from '../../hal/node/index.ts';
import { loadFleet, startManager, type RunningManager } from '../../server/index.ts';
import { DEMO_FIRST, writeDemoFleet } from '../../cli/demo/fixture.ts';
import type { Fleet } from '../../server/fleet.ts';
import { toHex } from '../../agent/util/bytes.ts';

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

export async function startFleetManager(rig: Rig, options: { deviceIds: string[]; name?: string; clockOffsetMs?: number; tls?: { cert: string; key: string }; assignment?: typeof DEMO_FIRST; mutate?: (fleet: Record<string, any>) => void; metadata?: (fleet: Fleet) => Promise<string>; deviceAuth?: 'required' | 'off' }): Promise<RunningManager> {
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
    ...(options.deviceAuth ? { deviceAuth: options.deviceAuth } : {}),
  });
  for (const other of rig.servers) other.manager.peers.add(server.url);
  rig.servers.push(server);
  return server;
}

export async function nodeAgent(rig: Rig, options: { deviceId: string; manager: string; config?: Record<string, unknown>; delivery?: Record<string, unknown>; events?: DeliveryEvent[]; ca?: string; fileRoots?: string[]; accept?: boolean }): Promise<{ agent: Agent; device: NodeDevice }> {
  const device = await createNodeDevice({
    workDir: join(rig.dir, `work-${options.deviceId}`),
    board: sim,
    identity: { deviceId: options.deviceId, model: 'sim' },
    log: { level: 'error' },
    ...(options.ca ? { net: { ca: options.ca } } : {}),
    ...(options.fileRoots ? { fileRoots: options.fileRoots } : {}),
  });
  if (options.accept !== false) await acceptOnAll(rig, device);
  const agent = await createAgent(
    device,
    sim,
    // Loopback managers speak plain HTTP unless a test gives them a certificate: allowed explicitly.
    { logLevel: 'error', trust: { allowUnsigned: true }, ...options.config, delivery: { manager: options.manager, allowInsecure: true, download: { checkpointBytes: 64 * 1024 }, ...options.delivery } },
    options.events ? { onDeliveryEvent: (event) => options.events?.push(event) } : {},
  );
  rig.devices.push(device);
  rig.agents.push(agent);
  return { agent, device };
}

/** The admin accepts `device`'s key on every manager of the rig (the key is created on first use, in the device's work dir). */
export async function acceptOnAll(rig: Rig, device: NodeDevice): Promise<void> {
  const { key } = await device.keystore!.publicKey();
  const deviceId = (await device.system.identity()).deviceId;
  for (const server of rig.servers) server.manager.deviceAuth.preauthorize(deviceId, toHex(key));
}

/**
 * The operator's flow for a device run by the CLI: `dm-agent run … --info` creates the device key
 * in the work dir and prints it (families[delivery].details.deviceKey); the admin accepts it.
 */
export async function acceptCliDevice(server: RunningManager, runArgs: string[]): Promise<string> {
  const { run } = await import('../../cli/commands/run.ts');
  let stdout = '';
  let stderr = '';
  const code = await run([...runArgs, '--info'], { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) });
  if (code !== 0) throw new Error(`dm-agent run --info failed (${code}): ${stderr}`);
  const info = JSON.parse(stdout) as { families: { name: string; details: { deviceKey?: string } }[] };
  const publicKey = info.families.find((family) => family.name === 'delivery')?.details.deviceKey;
  const at = runArgs.indexOf('--device-id');
  if (publicKey === undefined || at < 0) throw new Error('no device key or --device-id');
  await api(server, 'POST', '/api/auth/devices', { deviceId: runArgs[at + 1], publicKey });
  return publicKey;
}

/** Every device token `server` issues from now on, to look for it in a device's output (it must never be there). */
export function issuedTokens(server: RunningManager): string[] {
  const tokens: string[] = [];
  const issue = server.manager.deviceAuth.request.bind(server.manager.deviceAuth);
  server.manager.deviceAuth.request = (headers, body) => {
    const answer = issue(headers, body);
    if (answer.body.token) tokens.push(answer.body.token);
    return answer;
  };
  return tokens;
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
