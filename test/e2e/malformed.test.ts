import { afterEach, describe, expect, it } from 'vitest';
import { encodeCbor } from '../../agent/util/cbor.ts';
import { TransportError } from '../../agent/transport/http.ts';
import { DeliveryError } from '../../agent/delivery/events.ts';
import { decodeCbor } from '../../agent/util/cbor.ts';
import { MANAGER, type MockWorld, mockWorld } from './mock-rig.ts';

let world: MockWorld;
afterEach(async () => {
  await world?.cleanup();
});

type Tamper = (endpoint: string, answer: { status: number; headers?: Record<string, string>; body?: Uint8Array | AsyncIterable<Uint8Array> }) => Promise<{ status: number; headers?: Record<string, string>; body?: Uint8Array | AsyncIterable<Uint8Array> }>;

async function bodyOf(body: Uint8Array | AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

/** Routes the manager through a proxy that rewrites one endpoint's answers. */
function tamper(world: MockWorld, endpoint: string, change: Tamper): void {
  world.network.unroute(MANAGER);
  world.network.route(MANAGER, async (request) => {
    const answer = await world.manager.handle(request);
    return request.url.endsWith(`/dm/v1/${endpoint}`) ? change(endpoint, answer) : answer;
  });
}

const cbor = (value: unknown) => ({ status: 200, headers: { 'content-type': 'application/cbor' }, body: encodeCbor(value) });

describe('malformed or oversized manager answers: typed error, nothing persisted from them', () => {
  const cases: [string, string, Tamper, (error: unknown) => void][] = [
    ['garbage bytes', 'identify', async () => ({ status: 200, headers: { 'content-type': 'application/cbor' }, body: Uint8Array.of(0xa1, 0x61) }), (e) => expect(e).toMatchObject({ code: 'badMessage' })],
    ['a second CBOR item appended', 'identify', async (_e, a) => ({ ...a, body: Buffer.concat([await bodyOf(a.body), Uint8Array.of(0x01)]) }), (e) => expect(e).toMatchObject({ code: 'badMessage' })],
    ['an oversized answer', 'identify', async (_e, a) => ({ ...a, body: encodeCbor({ ...(decodeCbor(await bodyOf(a.body)) as object), padding: new Uint8Array(300_000) }) }), (e) => expect(e).toMatchObject({ code: 'tooLarge' })],
    ['a wrong content type', 'identify', async (_e, a) => ({ ...a, headers: { 'content-type': 'text/html' } }), (e) => expect(e).toMatchObject({ code: 'contentType' })],
    ['a schema violation deep inside', 'identify', async (_e, a) => {
      const list = decodeCbor(await bodyOf(a.body)) as { packages: { digest: string }[] };
      list.packages[2]!.digest = 'not-a-digest';
      return cbor(list);
    }, (e) => {
      expect(e).toBeInstanceOf(TransportError);
      expect((e as Error).message).toMatch(/packages\[2\]\.digest/);
    }],
    ['a package named twice', 'identify', async (_e, a) => {
      const list = decodeCbor(await bodyOf(a.body)) as { packages: unknown[] };
      list.packages.push(list.packages[0]);
      return cbor(list);
    }, (e) => {
      expect(e).toBeInstanceOf(DeliveryError);
      expect(e).toMatchObject({ code: 'badPackageList' });
    }],
    ['a hostile array length', 'identify', async () => ({ status: 200, headers: { 'content-type': 'application/cbor' }, body: Uint8Array.of(0x9b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff) }), (e) => expect(e).toMatchObject({ code: 'badMessage' })],
    ['a bad connection acknowledgement', 'connection', async () => cbor({ type: 'connectionAck', manager: { address: MANAGER, utcMs: -5 }, moves: [] }), (e) => expect(e).toMatchObject({ code: 'badMessage' })],
    ['an error status with junk', 'identify', async () => ({ status: 500, headers: { 'content-type': 'application/cbor' }, body: Uint8Array.of(0xff) }), (e) => expect(e).toMatchObject({ code: 'status', status: 500, retryable: true })],
  ];

  it.each(cases)('%s (%s answer)', async (_name, endpoint, change, check) => {
    world = await mockWorld({ deviceIds: ['dev-m'] });
    const hardware = world.hardware('dev-m');
    const agent = await world.agent(hardware, { delivery: { maxAnswerBytes: 256 * 1024 } });
    await agent.pollOnce(); // a good first poll: there is state to protect
    const before = snapshot(agent.store);
    tamper(world, endpoint, change);
    let error: unknown;
    try {
      await agent.pollOnce();
    } catch (caught) {
      error = caught;
    }
    expect(error, 'the poll must fail').toBeDefined();
    check(error);
    const after = snapshot(agent.store);
    if (endpoint === 'identify') expect(after).toEqual(before);
    else {
      // The identify answer was good and stamped the connection; nothing else changed.
      after.delete('roaming');
      before.delete('roaming');
      expect(after).toEqual(before);
    }
    await agent.close();
  });

  it('an instruction that contradicts the package list is refused and never becomes a job', async () => {
    world = await mockWorld({ deviceIds: ['dev-i'] });
    tamper(world, 'instruction', async (_e, a) => {
      const instruction = decodeCbor(await bodyOf(a.body)) as { name: string; digest: string };
      if (instruction.name === 'telemetry') instruction.digest = 'f'.repeat(64);
      return cbor(instruction);
    });
    const agent = await world.agent(world.hardware('dev-i'));
    const summary = await agent.pollOnce();
    expect(summary.failed).toMatchObject([{ name: 'telemetry', action: 'install' }]);
    expect(summary.failed[0]?.reason).toMatch(/mismatch|digest/i);
    expect(agent.delivery!.db.get('telemetry')).toBeUndefined();
    expect(world.runs.install.map((r) => r.name)).not.toContain('telemetry');
    expect(agent.store.keys('job/')).toEqual([]);
    expect(summary.installed).toHaveLength(3);
  });
});

function snapshot(store: { keys(prefix?: string): string[]; get(key: string): Uint8Array | undefined }): Map<string, string> {
  return new Map(store.keys().map((key) => [key, Buffer.from(store.get(key) as Uint8Array).toString('hex')]));
}
