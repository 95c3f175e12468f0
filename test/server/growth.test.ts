/**
 * Issue 9, item 10: nothing the manager keeps or reads grows without bound. The journal is
 * compacted and replayed line by line (a 600 MiB one used to stop the manager from starting),
 * enrolment is capped, a peer's answer is capped while it streams (not after buffering it), and
 * request bodies and peer answers have deadlines (a trickle used to hold a request forever).
 */
import { appendFile, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGES } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { bearerHeader } from '../../server/auth.ts';
import { type Fleet, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { JOURNAL_FILE } from '../../server/journal.ts';
import { type FetchPeer, type Manager, createManager } from '../../server/manager.ts';
import { MAX_PEER_ANSWER } from '../../server/move.ts';
import { ADMIN_TOKEN, type Fixture, PEER_SECRET, connectionReport, defaultFleet, getJson, identifyRequest, makeFixture, postCbor, statusReport } from './helpers.ts';

const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;
let fixture: Fixture;
let fleet: Fleet;
const dirs: string[] = [];

beforeAll(async () => {
  fixture = await makeFixture({ fleet: { ...defaultFleet(), defaults: { group: 'default' } } });
  fleet = await readFleetFile(fixture.fleetFile);
});
afterAll(async () => {
  await fixture?.cleanup();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-growth-'));
  dirs.push(dir);
  return dir;
};

const cbor = async (manager: Manager, path: string, value: unknown) => {
  const answer = await manager.handle({ method: 'POST', url: path, headers: { 'content-type': 'application/cbor' }, body: encodeCbor(value) });
  return { status: answer.status, answer: decodeCbor(answer.body as Uint8Array) as { code?: string } };
};
const api = async (manager: Manager, path: string) =>
  JSON.parse(new TextDecoder().decode((await manager.handle({ method: 'GET', url: path, headers: bearerHeader(ADMIN_TOKEN), body: new Uint8Array(0) })).body as Uint8Array));

describe('the journal', () => {
  it('is compacted once it passes journalMaxBytes, and a restart replays the same state', async () => {
    const dataDir = await tempDir();
    const options = { deviceAuth: 'off' as const, fleet, address: 'http://manager.test', dataDir, adminToken: ADMIN_TOKEN, journalMaxBytes: 64 * 1024 };
    const manager = createManager(options);
    await cbor(manager, '/dm/v1/identify', identifyRequest('walk-in'));
    // 3000 status reports: the history keeps the last 1000 per device, so should the file.
    for (let i = 0; i < 3000; i++) expect((await cbor(manager, '/dm/v1/status', statusReport('dev-1', { referenceCounter: i, jobId: `job-${i}` }))).status).toBe(200);
    await manager.handle({ method: 'PUT', url: '/api/devices/dev-1/packages', headers: { 'content-type': 'application/json', ...bearerHeader(ADMIN_TOKEN) }, body: new TextEncoder().encode('[{"name":"tools","remove":true}]') });
    await manager.flush();
    expect(manager.journal?.compactions).toBeGreaterThan(0);
    const lines = (await readFile(join(dataDir, JOURNAL_FILE), 'utf8')).split('\n').filter(Boolean);
    expect(lines.length).toBeLessThan(2 * 1000 + 10);
    const history = await api(manager, '/api/devices/dev-1/status');
    expect(history).toHaveLength(1000);
    expect(history[0].jobId).toBe('job-2000');

    const restarted = createManager(options);
    expect(await api(restarted, '/api/devices/dev-1/status')).toEqual(history);
    expect((await api(restarted, '/api/devices/dev-1/packages')).own).toEqual([{ name: 'tools', remove: true }]);
    expect(await api(restarted, '/api/devices/walk-in')).toMatchObject({ enrolled: 'auto', groups: ['default'] });
  });

  it('a journal longer than the longest string (one huge line) no longer stops the manager: streamed, the line skipped, the rest replayed, then compacted', async () => {
    const dataDir = await tempDir();
    const file = join(dataDir, JOURNAL_FILE);
    const record = { type: 'record', record: { target: 'dev-1', kind: 'device', deviceId: 'dev-1', referenceCounter: 42, packages: [], updatedUtcMs: 1 } };
    await appendFile(file, `${JSON.stringify(record)}\n`);
    // Sparse: ~513 MiB of NULs (one byte more than a string can hold, the old replay's limit) without a newline cost no disk; then one more good line.
    const handle = await open(file, 'r+');
    await handle.truncate(MAX_STRING_LENGTH + 1024 * 1024);
    await handle.close();
    await appendFile(file, `\n${JSON.stringify({ ...record, record: { ...record.record, target: 'user:zoe', kind: 'user', referenceCounter: 43 } })}\n`);
    const lines: string[] = [];
    const manager = createManager({ deviceAuth: 'off', fleet, address: 'http://manager.test', dataDir, adminToken: ADMIN_TOKEN, log: (line) => lines.push(line) });
    expect(lines.some((line) => /line longer than \d+ bytes skipped/.test(line))).toBe(true);
    expect((await api(manager, '/api/targets/dev-1')).referenceCounter).toBe(42);
    expect((await api(manager, '/api/targets/user%3Azoe')).referenceCounter).toBe(43);
    await manager.flush();
    expect((await stat(file)).size).toBeLessThan(4096);
  });
});

describe('enrolment', () => {
  it('is capped (maxEnrolments): past it, unknown devices get 403 enrolmentFull; fleet and enrolled devices carry on', async () => {
    const manager = createManager({ deviceAuth: 'off', fleet, address: 'http://manager.test', adminToken: ADMIN_TOKEN, maxEnrolments: 2 });
    for (const id of ['new-1', 'new-2']) expect((await cbor(manager, '/dm/v1/identify', identifyRequest(id))).status).toBe(200);
    const refused = await cbor(manager, '/dm/v1/identify', identifyRequest('new-3'));
    expect([refused.status, refused.answer.code]).toEqual([403, 'enrolmentFull']);
    expect((await cbor(manager, '/dm/v1/status', statusReport('new-4'))).status).toBe(403);
    expect((await cbor(manager, '/dm/v1/identify', identifyRequest('new-1'))).status).toBe(200);
    expect((await cbor(manager, '/dm/v1/identify', identifyRequest('dev-1'))).status).toBe(200);
    expect((await api(manager, '/api/devices')).map((device: { id: string }) => device.id).sort()).toEqual(['dev-1', 'dev-2', 'new-1', 'new-2']);
  });
});

describe('peer answers', () => {
  /** A peer manager whose record answer is `size` bytes long; counts what it managed to hand to the socket. */
  async function floodingPeer(size: number): Promise<{ url: string; sent(): number; close(): Promise<void> }> {
    let sent = 0;
    const server = http.createServer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/cbor', 'content-length': String(size) });
      const chunk = Buffer.alloc(256 * 1024, 0x41);
      let closed = false;
      response.on('close', () => (closed = true));
      while (sent < size && !closed) {
        sent += chunk.length;
        if (!response.write(chunk))
          await new Promise<void>((resolve) => {
            const done = (): void => {
              response.off('drain', done).off('close', done);
              resolve();
            };
            response.on('drain', done).on('close', done);
          });
      }
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      sent: () => sent,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  it('stops reading a peer\'s answer at the 8 MiB cap instead of buffering all of it', async () => {
    const size = 128 * 1024 * 1024;
    const peer = await floodingPeer(size);
    const manager = createManager({ deviceAuth: 'off', fleet, address: 'http://manager.test', peerSecret: PEER_SECRET, peers: [peer.url], peerTimeoutMs: 20_000 });
    try {
      const answer = await cbor(manager, '/dm/v1/connection', connectionReport('dev-1', 1, { targets: [{ id: 'dev-1', kind: 'device', previousManager: peer.url }] }));
      expect(EXCHANGES.connection.answer.parse(answer.answer).moves[0]?.result).toBe('unreachable');
      // The cap plus what loopback socket buffers hold, far from the whole answer.
      expect(peer.sent()).toBeLessThan(MAX_PEER_ANSWER + 24 * 1024 * 1024);
    } finally {
      await peer.close();
    }
  });

  it('gives up on a peer trickling its answer at the deadline, even through a fetchPeer that ignores the signal', async () => {
    const trickle: FetchPeer = async () => ({
      status: 200,
      body: (async function* () {
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          yield new Uint8Array([0xa0]);
        }
      })(),
    });
    const lines: string[] = [];
    const manager = createManager({ deviceAuth: 'off', fleet, address: 'http://manager.test', peerSecret: PEER_SECRET, peers: ['http://slow.test'], peerTimeoutMs: 300, fetchPeer: trickle, log: (line) => lines.push(line) });
    const started = Date.now();
    const answer = await cbor(manager, '/dm/v1/connection', connectionReport('dev-1', 1, { targets: [{ id: 'dev-1', kind: 'device', previousManager: 'http://slow.test' }] }));
    expect(EXCHANGES.connection.answer.parse(answer.answer).moves[0]?.result).toBe('unreachable');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(lines.join('\n')).toMatch(/no complete answer within 300 ms/);
  });
});

describe('request bodies', () => {
  let server: RunningManager;
  beforeAll(async () => {
    server = await startServer({ deviceAuth: 'off', fleet, adminToken: ADMIN_TOKEN }, { bodyTimeoutMs: 400 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a body trickled one byte at a time is cut off at the deadline with 408 bodyTimeout', async () => {
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /dm/v1/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\nContent-Length: 1000\r\n\r\n');
    const dripping = setInterval(() => socket.writable && socket.write('a'), 50);
    const started = Date.now();
    try {
      const outcome = await Promise.race([ended.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
      expect(outcome).toBe('closed');
    } finally {
      clearInterval(dripping);
      socket.destroy();
    }
    expect(Date.now() - started).toBeLessThan(3_000);
    const text = Buffer.concat(received).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    const body = Buffer.concat(received).subarray(Buffer.concat(received).indexOf('\r\n\r\n') + 4);
    expect(decodeCbor(new Uint8Array(body))).toMatchObject({ type: 'error', code: 'bodyTimeout' });
  });

  it('a body sent in time is served as before', async () => {
    expect((await postCbor(server.url, '/dm/v1/identify', identifyRequest('dev-1'))).status).toBe(200);
    expect((await getJson(`${server.url}/api/devices/dev-1`)).status).toBe(200);
  });
});
