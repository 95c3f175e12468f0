// Redirects end to end (reference manager in-process on the mock network): a redirect to a dead
// manager expires and the device falls back to its configured manager; a changed configuration
// wins over an old redirect; a redirect that drops TLS is refused. Each of these cut the device
// off for good before redirects were guarded.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import type { MockHttpHandler } from '../../hal/mock/net.ts';
import { MANAGER, type MockWorld, mockWorld } from './mock-rig.ts';

let world: MockWorld;
afterEach(async () => {
  await world?.cleanup();
});

/** The manager, with `redirect` added to its identify answers while `target()` names one. */
function redirecting(world: MockWorld, target: () => string | undefined): MockHttpHandler {
  return async (request) => {
    const answer = await world.manager.handle(request);
    const to = target();
    if (!request.url.endsWith('/dm/v1/identify') || to === undefined || answer.status !== 200) return answer;
    const list = decodeCbor(answer.body as Uint8Array) as Record<string, unknown>;
    const { 'content-length': _stale, ...headers } = answer.headers ?? {};
    return { ...answer, headers, body: encodeCbor({ ...list, redirect: to }) };
  };
}

const hosts = (world: MockWorld, from: number) => world.network.requests.slice(from).map((request) => new URL(request.url).host);

describe('manager redirects', () => {
  it('a redirect to a dead manager expires after redirectMaxFailedPolls failed polls; the configured manager is polled again', async () => {
    world = await mockWorld({ deviceIds: ['r-1'] });
    let target: string | undefined = 'https://dead.test';
    world.network.unroute(MANAGER);
    world.network.route(MANAGER, redirecting(world, () => target));
    const agent = await world.agent(world.hardware('r-1'), { delivery: { redirectMaxFailedPolls: 2 } });
    await agent.pollOnce(); // at the configured manager: learns the redirect
    target = undefined;
    expect(agent.delivery!.managerUrl()).toBe('https://dead.test');
    await expect(agent.pollOnce()).rejects.toMatchObject({ name: 'TransportError', code: 'network' });
    await expect(agent.pollOnce()).rejects.toMatchObject({ name: 'TransportError', code: 'network' });
    const mark = world.network.requests.length;
    const back = await agent.pollOnce();
    expect(back.manager).toBe(MANAGER);
    expect(hosts(world, mark).every((host) => host === 'manager.test')).toBe(true);
    await agent.close();
  });

  it('a changed configured manager wins over a redirect learnt under the old one', async () => {
    world = await mockWorld({ deviceIds: ['r-2'] });
    world.network.unroute(MANAGER);
    world.network.route(MANAGER, redirecting(world, () => 'https://dead.test'));
    world.network.route('https://manager-2.test', world.manager.handle);
    const hardware = world.hardware('r-2');
    const first = await world.agent(hardware);
    await first.pollOnce();
    expect(first.delivery!.managerUrl()).toBe('https://dead.test');
    await first.close();
    const reconfigured = await world.agent(hardware, { delivery: { manager: 'https://manager-2.test' } });
    const mark = world.network.requests.length;
    const summary = await reconfigured.pollOnce();
    expect(summary.manager).toBe('https://manager-2.test');
    expect(hosts(world, mark).every((host) => host === 'manager-2.test')).toBe(true);
    await reconfigured.close();
  });

  it('refuses a redirect from https to http and keeps polling over TLS', async () => {
    world = await mockWorld({ deviceIds: ['r-3'] });
    const secure = 'https://secure.test';
    world.network.route(secure, redirecting(world, () => 'http://manager.test'));
    world.network.route('http://manager.test', world.manager.handle);
    const agent = await world.agent(world.hardware('r-3'), { delivery: { manager: secure } });
    await agent.pollOnce();
    expect(agent.delivery!.managerUrl()).toBe(secure);
    const mark = world.network.requests.length;
    await agent.pollOnce();
    expect(world.network.requests.slice(mark).some((request) => request.url.startsWith('http:'))).toBe(false);
    expect(world.network.requests.slice(mark).some((request) => request.url.startsWith(`${secure}/dm/v1/identify`))).toBe(true);
    await agent.close();
  });
});
