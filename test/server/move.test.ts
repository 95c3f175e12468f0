/**
 * The move between two managers (seed 004), over real loopback HTTP. Manager B runs 2 h behind
 * A, so every "which record is newer" question here has opposite answers by wall clock and by
 * reference counter; the counter must win each time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectionAck, EXCHANGES, targetRecordSchema } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { type Fleet, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { type FetchPeer, type Manager, createManager } from '../../server/manager.ts';
import { fetchPeerOverHttp } from '../../server/move.ts';
import { bearerHeader } from '../../server/auth.ts';
import { ADMIN_TOKEN, type Fixture, PEER_SECRET, connectionReport, defaultFleet, getJson, httpRequest, makeFixture, postCbor } from './helpers.ts';

const TWO_HOURS = 2 * 3600_000;
let fixture: Fixture;
let fleet: Fleet;
let a: RunningManager;
let b: RunningManager;
/** Runs between B's GET of a record and its release (to race a connection into the old manager). */
let betweenGetAndRelease: (() => Promise<void>) | undefined;

beforeAll(async () => {
  fixture = await makeFixture({ fleet: { ...defaultFleet(), defaults: { group: 'default' } } });
  fleet = await readFleetFile(fixture.fleetFile);
  const trust = { adminToken: ADMIN_TOKEN, peerSecret: PEER_SECRET };
  a = await startServer({ deviceAuth: 'off', fleet, ...trust, faults: true });
  const fetchPeer: FetchPeer = async (url, init) => {
    const answer = await fetchPeerOverHttp(url, init);
    if (init.method === 'GET' && betweenGetAndRelease) await betweenGetAndRelease();
    return answer;
  };
  b = await startServer({ deviceAuth: 'off', fleet, ...trust, clockOffsetMs: -TWO_HOURS, fetchPeer, peerTimeoutMs: 2_000 });
  a.manager.peers.add(b.url);
  b.manager.peers.add(a.url);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await fixture?.cleanup();
});

type TargetSpec = { id: string; kind: 'device' | 'user'; previousManager?: string };

async function connect(server: RunningManager, deviceId: string, counter: number, targets: TargetSpec[], installed = [{ name: 'hello', version: '1.0.0' }]): Promise<ConnectionAck> {
  const { status, answer } = await postCbor(server.url, '/dm/v1/connection', connectionReport(deviceId, counter, { targets, installed }));
  expect(status, JSON.stringify(answer)).toBe(200);
  return EXCHANGES.connection.answer.parse(answer);
}

const record = async (server: RunningManager, id: string) => (await getJson(`${server.url}/api/targets/${encodeURIComponent(id)}`)).json;

/** The counter an agent derives (seed 004): the manager's UTC, unless that would not go up. */
const nextCounter = (manager: Manager, previous?: number): number => Math.max(manager.utcMs(), (previous ?? -1) + 1);

describe('the move between managers with disagreeing clocks', () => {
  it('moves the records to the new manager (counter, not clock), and the old one marks them released', async () => {
    expect(a.manager.utcMs() - b.manager.utcMs()).toBeGreaterThan(TWO_HOURS - 60_000);
    const onA = nextCounter(a.manager);
    await connect(a, 'dev-1', onA, [{ id: 'dev-1', kind: 'device' }, { id: 'alice@dev-1', kind: 'user' }]);

    // B's clock is 2 h behind: the agent's counter ignores it and just goes up by one.
    const onB = nextCounter(b.manager, onA);
    expect(onB).toBe(onA + 1);
    const ack = await connect(b, 'dev-1', onB, [
      { id: 'dev-1', kind: 'device', previousManager: a.url },
      { id: 'alice@dev-1', kind: 'user', previousManager: a.url },
    ]);
    expect(ack.manager.address).toBe(b.url);
    expect(ack.moves).toEqual([
      { target: 'dev-1', from: a.url, result: 'moved' },
      { target: 'alice@dev-1', from: a.url, result: 'moved' },
    ]);

    const atB = await record(b, 'dev-1');
    const atA = await record(a, 'dev-1');
    expect(atB).toMatchObject({ referenceCounter: onB, movedFrom: a.url, packages: [{ name: 'hello', version: '1.0.0' }] });
    expect(atA).toMatchObject({ referenceCounter: onA, movedTo: b.url, releasedUtcMs: expect.any(Number) });
    // By wall clock, A's stale record looks two hours newer than B's current one.
    expect(atA.updatedUtcMs).toBeGreaterThan(atB.updatedUtcMs);
    expect((await record(b, 'alice@dev-1')).referenceCounter).toBe(onB);

    // The old manager still answers the peer GET after the release, saying where the target went.
    const peer = await httpRequest(`${a.url}/dm/v1/targets/dev-1`, { headers: bearerHeader(PEER_SECRET) });
    expect(peer.status).toBe(200);
    const wire = decodeCbor(peer.body) as { movedTo?: string };
    expect(targetRecordSchema.parse(wire).referenceCounter).toBe(onA);
    expect(wire.movedTo).toBe(b.url);

    // And back: A's own (released) record is older by counter than B's, though newer by clock.
    const back = await connect(a, 'dev-1', nextCounter(a.manager, onB), [{ id: 'dev-1', kind: 'device', previousManager: b.url }]);
    expect(back.moves).toEqual([{ target: 'dev-1', from: b.url, result: 'moved' }]);
    expect(await record(a, 'dev-1')).toMatchObject({ movedFrom: b.url });
    expect((await record(a, 'dev-1')).movedTo).toBeUndefined();
    expect((await record(b, 'dev-1')).movedTo).toBe(a.url);
  });

  it('keeps its own record when that has the higher counter, even if the peer\'s looks newer by clock', async () => {
    await connect(a, 'dev-2', 1_000, [{ id: 'dev-2', kind: 'device' }], [{ name: 'old', version: '1' }]);
    await connect(b, 'dev-2', 2_000, [{ id: 'dev-2', kind: 'device' }], [{ name: 'new', version: '2' }]);
    expect((await record(a, 'dev-2')).updatedUtcMs).toBeGreaterThan((await record(b, 'dev-2')).updatedUtcMs);
    const ack = await connect(b, 'dev-2', 2_001, [{ id: 'dev-2', kind: 'device', previousManager: a.url }], [{ name: 'new', version: '2' }]);
    expect(ack.moves).toEqual([{ target: 'dev-2', from: a.url, result: 'kept' }]);
    expect(await record(b, 'dev-2')).toMatchObject({ referenceCounter: 2_001, packages: [{ name: 'new', version: '2' }] });
    expect((await record(b, 'dev-2')).movedFrom).toBeUndefined();
    // The old manager is released all the same: the target is managed here now.
    expect((await record(a, 'dev-2')).movedTo).toBe(b.url);
  });

  it('a stale connection never rolls a record back', async () => {
    await connect(a, 'stale', 500, [{ id: 'stale', kind: 'device' }], [{ name: 'hello', version: '2.0.0' }]);
    await connect(a, 'stale', 400, [{ id: 'stale', kind: 'device' }], [{ name: 'hello', version: '1.0.0' }]);
    expect(await record(a, 'stale')).toMatchObject({ referenceCounter: 500, packages: [{ name: 'hello', version: '2.0.0' }] });
    expect((await getJson(`${a.url}/api/devices/stale`)).json.installed.packages).toEqual([{ name: 'hello', version: '2.0.0' }]);
  });

  it('a peer that is down → unreachable, quickly, and the record is left for the retry', async () => {
    const gone = await startServer({ deviceAuth: 'off', fleet });
    await gone.close();
    b.manager.peers.add(gone.url);
    const started = Date.now();
    const ack = await connect(b, 'roamer', 10, [{ id: 'roamer', kind: 'device', previousManager: gone.url }]);
    expect(ack.moves).toEqual([{ target: 'roamer', from: gone.url, result: 'unreachable' }]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await getJson(`${b.url}/api/targets/roamer`)).status).toBe(404);
    // The device itself was still seen.
    expect((await getJson(`${b.url}/api/devices/roamer`)).json.referenceCounter).toBe(10);
  });

  it('a peer answering errors → unreachable; the agent\'s resend then completes the move', async () => {
    await connect(a, 'retry', 100, [{ id: 'retry', kind: 'device' }]);
    await getJson(`${a.url}/api/faults`, { method: 'POST', body: { kind: 'status', path: '/dm/v1/targets/retry', code: 503 } });
    const first = await connect(b, 'retry', 101, [{ id: 'retry', kind: 'device', previousManager: a.url }]);
    expect(first.moves[0]?.result).toBe('unreachable');
    expect((await getJson(`${b.url}/api/targets/retry`)).status).toBe(404);
    expect((await record(a, 'retry')).movedTo).toBeUndefined();
    const second = await connect(b, 'retry', 102, [{ id: 'retry', kind: 'device', previousManager: a.url }]);
    expect(second.moves[0]?.result).toBe('moved');
    expect(await record(b, 'retry')).toMatchObject({ referenceCounter: 102, movedFrom: a.url });
  });

  it('the old manager refuses the release if its record moved on after the GET; the retry fetches the newer one', async () => {
    await connect(a, 'racer', 300, [{ id: 'racer', kind: 'user' }]);
    betweenGetAndRelease = async () => {
      betweenGetAndRelease = undefined;
      await connect(a, 'racer', 305, [{ id: 'racer', kind: 'user' }]);
    };
    const first = await connect(b, 'racer', 306, [{ id: 'racer', kind: 'user', previousManager: a.url }]);
    expect(first.moves[0]?.result).toBe('unreachable');
    expect((await record(a, 'racer')).movedTo).toBeUndefined();
    // B adopted the 300 record before the refused release; the retry sees 305 > 300 and moves again.
    const second = await connect(b, 'racer', 307, [{ id: 'racer', kind: 'user', previousManager: a.url }]);
    expect(second.moves[0]?.result).toBe('moved');
    expect((await record(a, 'racer')).movedTo).toBe(b.url);
  });

  it('a previous manager without a record → none; naming itself → none', async () => {
    const ack = await connect(b, 'fresh', 1, [
      { id: 'fresh', kind: 'device', previousManager: a.url },
      { id: 'fresh-user', kind: 'user', previousManager: `${b.url}/` },
    ]);
    expect(ack.moves.map((move) => move.result)).toEqual(['none', 'none']);
    expect((await record(b, 'fresh')).referenceCounter).toBe(1);
  });

  it('the peer routes validate their input', async () => {
    const release = (value: unknown, id = 'dev-1') =>
      httpRequest(`${a.url}/dm/v1/targets/${id}/release`, { method: 'POST', headers: { 'content-type': 'application/cbor', ...bearerHeader(PEER_SECRET) }, body: encodeCbor(value) });
    expect((await release({ type: 'release', target: 'other', movedTo: b.url, referenceCounter: 1 })).status).toBe(400);
    expect((await release({ type: 'release', target: 'nobody', movedTo: b.url, referenceCounter: 1 }, 'nobody')).status).toBe(404);
    expect((await release({ type: 'release', target: 'dev-1' })).status).toBe(400);
    expect((await httpRequest(`${a.url}/dm/v1/targets/nobody`, { headers: bearerHeader(PEER_SECRET) })).status).toBe(404);
    expect((await httpRequest(`${a.url}/dm/v1/targets/dev-1/release`, { headers: bearerHeader(PEER_SECRET) })).status).toBe(405);
  });
});

describe('the move in-process (as on the mock network)', () => {
  it('runs through a fetchPeer that calls the other manager\'s handler directly', async () => {
    const managers = new Map<string, Manager>();
    const fetchPeer: FetchPeer = async (url, init) => {
      const origin = new URL(url).origin;
      const target = managers.get(origin);
      if (!target) throw new TypeError(`fetch failed: ${origin} refused`);
      const answer = await target.handle({ method: init.method, url, headers: init.headers, body: init.body ?? new Uint8Array(0) });
      const body = answer.body as Uint8Array;
      return { status: answer.status, body: (async function* () {
        yield body;
      })() };
    };
    const peers = ['http://one.test', 'http://two.test', 'http://three.test'];
    const first = createManager({ deviceAuth: 'off', fleet, address: 'http://one.test', fetchPeer, peerSecret: PEER_SECRET, peers });
    const second = createManager({ deviceAuth: 'off', fleet, address: 'http://two.test', fetchPeer, clockOffsetMs: -TWO_HOURS, peerSecret: PEER_SECRET, peers });
    managers.set('http://one.test', first).set('http://two.test', second);
    const post = async (manager: Manager, value: unknown) =>
      EXCHANGES.connection.answer.parse(decodeCbor((await manager.handle({ method: 'POST', url: '/dm/v1/connection', headers: { 'content-type': 'application/cbor' }, body: encodeCbor(value) })).body as Uint8Array));
    await post(first, connectionReport('dev-1', 7));
    const ack = await post(second, connectionReport('dev-1', 8, { targets: [{ id: 'dev-1', kind: 'device', previousManager: 'http://one.test' }] }));
    expect(ack.moves).toEqual([{ target: 'dev-1', from: 'http://one.test', result: 'moved' }]);
    const gone = await post(second, connectionReport('dev-1', 9, { targets: [{ id: 'dev-1', kind: 'device', previousManager: 'http://three.test' }] }));
    expect(gone.moves[0]?.result).toBe('unreachable');
  });
});
