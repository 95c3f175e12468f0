/**
 * Device authentication end to end on the mock HAL: the agent signs its authentication request
 * with the keystore key, the reference manager (in-process on the mock network) keeps an unknown
 * key pending until the admin API accepts it, and every pull-model exchange then carries the
 * token. Rejected keys, forged and expired tokens, tokens of another device and replayed auth
 * requests are refused; the agent re-authenticates when its token stops working.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import { TransportError } from '../../agent/transport/http.ts';
import { AUTH_PATH } from '../../agent/trust/device-auth.ts';
import { encodeCbor } from '../../agent/util/cbor.ts';
import type { MockHttpHandler } from '../../hal/mock/net.ts';
import { createManager, type Manager } from '../../server/index.ts';
import { MANAGER, type MockWorld, mockWorld } from '../e2e/mock-rig.ts';
import { sim } from '../e2e/harness.ts';

let world: MockWorld | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close().catch(() => undefined);
  await world?.cleanup();
  world = undefined;
});

/** An agent whose key nobody accepted yet (mockWorld's own `agent()` preauthorizes). */
async function freshAgent(w: MockWorld, deviceId: string, delivery: Record<string, unknown> = {}): Promise<Agent> {
  const hardware = w.hardware(deviceId);
  const device = hardware.boot();
  await hardware.booted;
  const agent = await createAgent(device, sim, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: MANAGER, download: { checkpointBytes: 16 * 1024 }, ...delivery } });
  agents.push(agent);
  return agent;
}

const admin = (manager: Manager) => ({ 'content-type': 'application/json', authorization: `Bearer ${manager.adminToken}` });

async function adminCall(manager: Manager, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const answer = await manager.handle({ method, url: path, headers: admin(manager), body: new TextEncoder().encode(body === undefined ? '' : JSON.stringify(body)) });
  return { status: answer.status, json: JSON.parse(new TextDecoder().decode(answer.body as Uint8Array)) };
}

const pollError = (agent: Agent) => agent.pollOnce().then(
  () => undefined,
  (error: unknown) => error,
);

/** The requests the manager got, with their headers and bodies (the mock network records no bodies). */
function recording(w: MockWorld, origin: string, manager: Manager): { path: string; headers: Record<string, string>; body: Uint8Array; status: number }[] {
  const seen: { path: string; headers: Record<string, string>; body: Uint8Array; status: number }[] = [];
  const handler: MockHttpHandler = async (request) => {
    const answer = await manager.handle(request);
    seen.push({ path: new URL(request.url, origin).pathname, headers: request.headers, body: request.body, status: answer.status });
    return answer;
  };
  w.network.unroute(origin);
  w.network.route(origin, handler);
  return seen;
}

describe('device authentication, agent ↔ reference manager (mock HAL)', () => {
  it('an unknown device stays pending and gets nothing; once the admin accepts its key, every exchange carries the token', async () => {
    world = await mockWorld({ deviceIds: ['auth-1'] });
    const seen = recording(world, MANAGER, world.manager);
    const agent = await freshAgent(world, 'auth-1');
    const publicKey = agent.delivery!.publicKey!;
    expect(publicKey).toMatch(/^[0-9a-f]{64}$/);

    for (let i = 0; i < 2; i++) {
      const error = await pollError(agent);
      expect(error).toBeInstanceOf(TransportError);
      expect(error).toMatchObject({ status: 401, managerCode: 'pending', retryable: true });
    }
    // Nothing but authentication requests reached the manager, and nothing was installed.
    expect(seen.every((request) => request.path === AUTH_PATH)).toBe(true);
    expect(agent.delivery!.db.list()).toEqual([]);
    expect(world.runs.install).toEqual([]);

    const listed = await adminCall(world.manager, 'GET', '/api/auth/devices');
    expect(listed.json.devices).toEqual([{ deviceId: 'auth-1', publicKey, status: 'pending' }]);
    expect((await adminCall(world.manager, 'PUT', `/api/auth/devices/auth-1/${publicKey}`, { status: 'accepted' })).status).toBe(200);

    const mark = seen.length;
    const summary = await agent.pollOnce();
    expect(summary.installed.length).toBeGreaterThan(0);
    const exchanges = seen.slice(mark).filter((request) => request.path.startsWith('/dm/v1/'));
    expect(exchanges.length).toBeGreaterThan(4);
    expect(exchanges.every((request) => /^Bearer \S+$/.test(request.headers.authorization ?? '') && request.status === 200)).toBe(true);
    // One token for the whole poll (the mock clock starts in 2025: the first request is stale and
    // signed again with the manager's time, so at most two requests).
    const authRequests = seen.slice(mark).filter((request) => request.path === AUTH_PATH).length;
    expect(authRequests).toBeGreaterThanOrEqual(1);
    expect(authRequests).toBeLessThanOrEqual(2);
    await agent.pollOnce();
    expect(seen.slice(mark).filter((request) => request.path === AUTH_PATH).length).toBe(authRequests);
  });

  it('a rejected key gets 401 and is not retried as if it were pending', async () => {
    world = await mockWorld({ deviceIds: ['auth-2'] });
    const agent = await freshAgent(world, 'auth-2');
    await pollError(agent);
    await adminCall(world.manager, 'PUT', `/api/auth/devices/auth-2/${agent.delivery!.publicKey}`, { status: 'rejected' });
    expect(await pollError(agent)).toMatchObject({ status: 401, managerCode: 'rejected', retryable: false });
  });

  it('the manager refuses device routes without a token, with a forged token and with another device\'s token', async () => {
    world = await mockWorld({ deviceIds: ['auth-3', 'auth-4'] });
    const seen = recording(world, MANAGER, world.manager);
    const agent = await world.agent(world.hardware('auth-3'));
    agents.push(agent);
    await agent.pollOnce();
    const token = seen.find((request) => request.path === '/dm/v1/identify')!.headers.authorization!.slice('Bearer '.length);
    const identify = (deviceId: string, authorization?: string) =>
      world!.manager.handle({
        method: 'POST',
        url: '/dm/v1/identify',
        headers: { 'content-type': 'application/cbor', ...(authorization ? { authorization } : {}) },
        body: encodeCbor({ type: 'identify', protocol: 1, agentVersion: '0.1.0', platform: 'test', identity: { deviceId, model: 'm', oem: 'o', hardwareId: 'h', firmwareVersion: '1', locale: 'en' }, targets: [{ id: deviceId, kind: 'device' }] }),
      });
    expect((await identify('auth-3', `Bearer ${token}`)).status).toBe(200);
    expect((await identify('auth-3')).status).toBe(401);
    const [payload, mac] = token.split('.') as [string, string];
    const forgedPayload = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('auth-3', 'auth-4')).toString('base64url');
    expect((await identify('auth-4', `Bearer ${forgedPayload}.${mac}`)).status).toBe(401);
    expect((await identify('auth-3', `Bearer ${payload}.${Buffer.alloc(32).toString('base64url')}`)).status).toBe(401);
    const other = await identify('auth-4', `Bearer ${token}`);
    expect(other.status).toBe(403);
    expect(other.headers['content-type']).toBe('application/cbor');
  });

  it('an expired token is refused; the agent authenticates again and the poll goes through', async () => {
    world = await mockWorld({ deviceIds: ['auth-5'] });
    let offsetMs = 0;
    const manager = createManager({ fleet: world.manager.fleet, address: 'https://m2.test', now: () => Date.now() + offsetMs });
    const seen = recording(world, 'https://m2.test', manager);
    const hardware = world.hardware('auth-5');
    const device = hardware.boot();
    await hardware.booted;
    const { key } = await device.keystore!.publicKey();
    expect(manager.deviceAuth.preauthorize('auth-5', Buffer.from(key).toString('hex'))).toBe(true);
    const agent = await createAgent(device, sim, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: 'https://m2.test' } });
    agents.push(agent);
    await agent.pollOnce();
    const before = seen.filter((request) => request.path === AUTH_PATH).length;
    // 16 minutes later on the manager (tokens live 15), while the device's clock stands still: the
    // device still trusts its token, the manager does not.
    offsetMs = 16 * 60_000;
    const mark = seen.length;
    await agent.pollOnce();
    const after = seen.slice(mark);
    expect(after[0]).toMatchObject({ path: '/dm/v1/identify', status: 401 });
    expect(after.filter((request) => request.path === AUTH_PATH && request.status === 200)).toHaveLength(1);
    expect(after.filter((request) => request.path.startsWith('/dm/v1/')).slice(1).every((request) => request.status === 200)).toBe(true);
    expect(seen.filter((request) => request.path === AUTH_PATH).length).toBeGreaterThan(before);
  });

  it('a replayed authentication request is refused', async () => {
    world = await mockWorld({ deviceIds: ['auth-6'] });
    const seen = recording(world, MANAGER, world.manager);
    const agent = await world.agent(world.hardware('auth-6'));
    agents.push(agent);
    await agent.pollOnce();
    const accepted = seen.find((request) => request.path === AUTH_PATH && request.status === 200)!;
    const replay = await world.manager.handle({ method: 'POST', url: AUTH_PATH, headers: accepted.headers, body: accepted.body });
    expect(replay.status).toBe(401);
    expect(JSON.parse(new TextDecoder().decode(replay.body as Uint8Array))).toMatchObject({ error: { code: 'replayed' } });
  });

  it('deviceAuth: false sends no Authorization header (a manager with device auth off); a board without a keystore needs it off', async () => {
    world = await mockWorld({ deviceIds: ['auth-7'] });
    const open = createManager({ fleet: world.manager.fleet, address: 'https://open.test', deviceAuth: 'off' });
    const seen = recording(world, 'https://open.test', open);
    const agent = await freshAgent(world, 'auth-7', { manager: 'https://open.test', deviceAuth: false });
    await agent.pollOnce();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((request) => request.path === AUTH_PATH || request.headers.authorization !== undefined)).toBe(false);

    const hardware = world.hardware('auth-8');
    const device = hardware.boot();
    await hardware.booted;
    const { keystore: _none, ...withoutKeystore } = device;
    await expect(createAgent(withoutKeystore as typeof device, sim, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: MANAGER } })).rejects.toMatchObject({ code: 'noKeystore' });
  });
});
