/**
 * Issue 9, items 8 and 9: who may do what on the reference manager. Every test here was written
 * against an attack that worked before: unauthenticated admin calls, unauthenticated peer routes,
 * a device overwriting another device's target (with counter 2^53−1, locking it out for good),
 * fault injection on any manager, and `previousManager` making the manager fetch any URL.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGES } from '../../agent/delivery/messages.ts';
import { encodeCbor } from '../../agent/util/cbor.ts';
import { run } from '../../cli/commands/server.ts';
import { bearerHeader } from '../../server/auth.ts';
import { type Fleet, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { ADMIN_TOKEN, type Fixture, PEER_SECRET, connectionReport, defaultFleet, getJson, httpRequest, makeFixture, postCbor, statusReport } from './helpers.ts';

let fixture: Fixture;
let fleet: Fleet;
let a: RunningManager;
let b: RunningManager;
const logs: string[] = [];

beforeAll(async () => {
  fixture = await makeFixture({ fleet: { ...defaultFleet(), defaults: { group: 'default' } } });
  fleet = await readFleetFile(fixture.fleetFile);
  const log = (line: string) => logs.push(line);
  a = await startServer({ deviceAuth: 'off', fleet, adminToken: ADMIN_TOKEN, peerSecret: PEER_SECRET, log });
  b = await startServer({ deviceAuth: 'off', fleet, adminToken: ADMIN_TOKEN, peerSecret: PEER_SECRET, log, peerTimeoutMs: 2_000 });
  a.manager.peers.add(b.url);
  b.manager.peers.add(a.url);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await fixture?.cleanup();
});

const connect = (server: RunningManager, deviceId: string, counter: number, targets: { id: string; kind: 'device' | 'user'; previousManager?: string }[]) =>
  postCbor(server.url, '/dm/v1/connection', connectionReport(deviceId, counter, { targets, installed: [{ name: 'hello', version: '1.0.0' }] }));
const record = async (server: RunningManager, id: string) => (await getJson(`${server.url}/api/targets/${encodeURIComponent(id)}`)).json;

/** A plain HTTP server that records every request it gets (the "internal" service an attacker aims at). */
async function victim(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'text/plain' }).end('secret metadata');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('admin token on /api/*', () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/api/manager'],
    ['GET', '/api/devices'],
    ['GET', '/api/devices/dev-1'],
    ['PUT', '/api/devices/dev-1/packages', []],
    ['POST', '/api/devices/dev-1/redirect', { url: 'http://evil.test' }],
    ['DELETE', '/api/devices/dev-1/redirect'],
    ['GET', '/api/targets'],
    ['POST', '/api/faults', { kind: 'status', path: '/dm/v1/identify', code: 503 }],
  ];

  it('refuses every admin route without the token or with a wrong one: 401, WWW-Authenticate, nothing changed', async () => {
    for (const [method, path, body] of routes)
      for (const token of [null, 'not-the-admin-token-at-all', `${ADMIN_TOKEN}x`]) {
        const answer = await getJson(`${a.url}${path}`, { method, body, token });
        expect(answer.status, `${method} ${path} with ${token}`).toBe(401);
        expect(answer.json.error.code).toBe('unauthorized');
        expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm=/);
        expect(JSON.stringify(answer.json)).not.toContain(ADMIN_TOKEN);
      }
    expect((await getJson(`${a.url}/api/devices/dev-1`)).json.redirect).toBeNull();
    // With the token, the routes answer.
    expect((await getJson(`${a.url}/api/manager`)).status).toBe(200);
    expect(logs.join('\n')).not.toContain(ADMIN_TOKEN);
  });

  it('generates the token into the data dir (mode 0600) at first start, keeps it across restarts, never logs it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dm-token-'));
    const lines: string[] = [];
    try {
      const first = await startServer({ deviceAuth: 'off', fleet, dataDir, log: (line) => lines.push(line) });
      const file = join(dataDir, 'admin-token');
      expect(first.manager.adminTokenSource).toEqual({ kind: 'created', file });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const token = (await readFile(file, 'utf8')).trim();
      expect(token).toBe(first.manager.adminToken);
      expect((await getJson(`${first.url}/api/manager`, { token })).status).toBe(200);
      expect((await getJson(`${first.url}/api/manager`, { token: null })).status).toBe(401);
      // Printing the manager object does not show it either.
      expect(JSON.stringify(Object.entries(Object.getOwnPropertyDescriptors(first.manager)).map(([key, d]) => [key, 'value' in d ? typeof d.value : 'getter']))).not.toContain(token);
      await first.close();
      const second = await startServer({ deviceAuth: 'off', fleet, dataDir, log: (line) => lines.push(line) });
      expect(second.manager.adminTokenSource).toEqual({ kind: 'read', file });
      expect(second.manager.adminToken).toBe(token);
      await second.close();
      expect(lines.join('\n')).not.toContain(token);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('the CLI prints a created token once, reads --admin-token-file, and refuses a token file others can read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-token-cli-'));
    const start = async (args: string[]): Promise<{ out: string; err: string; code: number; token?: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const controller = new AbortController();
      let token: string | undefined;
      const code = await run(['--fleet', fixture.fleetFile, '--port', '0', '--quiet', ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, {
        signal: controller.signal,
        onListening: (server) => {
          token = server.manager.adminToken;
          controller.abort();
        },
      });
      return { out: out.join(''), err: err.join(''), code, ...(token !== undefined ? { token } : {}) };
    };
    try {
      const first = await start(['--data-dir', join(dir, 'data')]);
      expect(first.code).toBe(0);
      expect(first.out).toContain(`admin token (shown once; stored in ${join(dir, 'data', 'admin-token')}, mode 0600): ${first.token}`);
      const second = await start(['--data-dir', join(dir, 'data')]);
      expect(second.token).toBe(first.token);
      expect(second.out).not.toContain(first.token!);
      expect(second.out).toContain('admin token: in ');

      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, 'operator-chosen-token-123456\n', { mode: 0o600 });
      const given = await start(['--admin-token-file', tokenFile]);
      expect([given.code, given.token]).toEqual([0, 'operator-chosen-token-123456']);
      expect(given.out).not.toContain('operator-chosen-token-123456');
      const open = join(dir, 'open-token');
      await writeFile(open, 'operator-chosen-token-123456\n', { mode: 0o644 });
      const refused = await start(['--admin-token-file', open]);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/readable by group or others.*chmod 600/);
      expect(refused.err).not.toContain('operator-chosen-token');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fault injection only with --faults', () => {
  it('a manager started without it has no /api/faults and applies no fault', async () => {
    const answer = await getJson(`${a.url}/api/faults`, { method: 'POST', body: { kind: 'status', path: '/dm/v1/status', code: 503 } });
    expect([answer.status, answer.json.error.code]).toEqual([404, 'faultsDisabled']);
    expect((await postCbor(a.url, '/dm/v1/status', statusReport('dev-1'))).status).toBe(200);
  });
});

describe('the peer routes need the peer secret', () => {
  it('GET and release of a target record: 401 without or with a wrong secret, 403 on a manager without one', async () => {
    expect((await connect(a, 'dev-1', 10, [{ id: 'dev-1', kind: 'device' }])).status).toBe(200);
    const release = { type: 'release', target: 'dev-1', movedTo: 'http://evil.test', referenceCounter: 2 ** 53 - 1 };
    for (const headers of [{}, bearerHeader('wrong-secret-wrong-secret'), bearerHeader(ADMIN_TOKEN)]) {
      expect((await httpRequest(`${a.url}/dm/v1/targets/dev-1`, { headers })).status).toBe(401);
      const answer = await httpRequest(`${a.url}/dm/v1/targets/dev-1/release`, { method: 'POST', headers: { 'content-type': 'application/cbor', ...headers }, body: encodeCbor(release) });
      expect(answer.status).toBe(401);
    }
    expect((await record(a, 'dev-1')).movedTo).toBeUndefined();
    expect((await httpRequest(`${a.url}/dm/v1/targets/dev-1`, { headers: bearerHeader(PEER_SECRET) })).status).toBe(200);
    const lone = await startServer({ deviceAuth: 'off', fleet });
    try {
      expect((await httpRequest(`${lone.url}/dm/v1/targets/dev-1`, { headers: bearerHeader(PEER_SECRET) })).status).toBe(403);
    } finally {
      await lone.close();
    }
  });
});

describe('a device writes only its own targets, with a sane counter', () => {
  it('refuses another device\'s device target, user target or fleet id with 403 notYourTarget; nothing changes', async () => {
    expect((await connect(a, 'dev-2', 1_000, [{ id: 'dev-2', kind: 'device' }, { id: 'user:bob', kind: 'user' }])).status).toBe(200);
    const before = await record(a, 'dev-2');
    const attacks: { id: string; kind: 'device' | 'user' }[][] = [
      [{ id: 'dev-2', kind: 'device' }],
      [{ id: 'dev-2', kind: 'user' }],
      [{ id: 'user:bob', kind: 'user' }],
      // Not connected yet, but listed in the fleet: it belongs to that device.
      [{ id: 'dev-1', kind: 'user' }],
      [{ id: 'mallory', kind: 'device' }, { id: 'dev-2', kind: 'device' }],
    ];
    for (const targets of attacks) {
      const answer = await connect(a, 'mallory', 2_000, targets);
      expect(answer.status, JSON.stringify(targets)).toBe(403);
      expect(answer.answer).toMatchObject({ type: 'error', code: 'notYourTarget' });
    }
    expect(await record(a, 'dev-2')).toEqual(before);
    expect((await getJson(`${a.url}/api/targets/mallory`)).status).toBe(404);
    // The owner still writes them.
    expect((await connect(a, 'dev-2', 1_001, [{ id: 'dev-2', kind: 'device' }, { id: 'user:bob', kind: 'user' }])).status).toBe(200);
    expect((await record(a, 'user:bob')).referenceCounter).toBe(1_001);
  });

  it('refuses a counter far ahead of the manager\'s clock (2^53−1), so the genuine device is not locked out', async () => {
    const now = a.manager.utcMs();
    expect((await connect(a, 'dev-1', now, [{ id: 'dev-1', kind: 'device' }])).status).toBe(200);
    const absurd = await connect(a, 'dev-1', 2 ** 53 - 1, [{ id: 'dev-1', kind: 'device' }]);
    expect([absurd.status, (absurd.answer as { code: string }).code]).toEqual([400, 'badCounter']);
    for (const path of ['/dm/v1/status'] as const) {
      const answer = await postCbor(a.url, path, statusReport('dev-1', { referenceCounter: 2 ** 53 - 1 }));
      expect(answer.status).toBe(400);
    }
    // Within the tolerance (managers' clocks disagree by hours): accepted.
    expect((await connect(a, 'dev-1', now + 3 * 3600_000, [{ id: 'dev-1', kind: 'device' }])).status).toBe(200);
    expect((await connect(a, 'dev-1', now + 3 * 3600_000 + 1, [{ id: 'dev-1', kind: 'device' }])).status).toBe(200);
    expect((await record(a, 'dev-1')).referenceCounter).toBe(now + 3 * 3600_000 + 1);
    expect((await getJson(`${a.url}/api/devices/dev-1`)).json.referenceCounter).toBe(now + 3 * 3600_000 + 1);
  });

  it('a device cannot pull another device\'s record over from a previous manager: 403, and the old manager keeps it', async () => {
    expect((await connect(a, 'victim-dev', 5_000, [{ id: 'victim-dev', kind: 'device' }, { id: 'user:carol', kind: 'user' }])).status).toBe(200);
    for (const target of [{ id: 'victim-dev', kind: 'device' as const }, { id: 'user:carol', kind: 'user' as const }]) {
      const answer = await connect(b, 'thief', 6_000, [{ ...target, previousManager: a.url }]);
      expect(answer.status).toBe(403);
      expect((await record(a, target.id)).movedTo).toBeUndefined();
      expect((await getJson(`${b.url}/api/targets/${encodeURIComponent(target.id)}`)).status).toBe(404);
    }
    // The owner's own move still works.
    const ack = await connect(b, 'victim-dev', 5_001, [{ id: 'victim-dev', kind: 'device', previousManager: a.url }]);
    expect(EXCHANGES.connection.answer.parse(ack.answer).moves).toEqual([{ target: 'victim-dev', from: a.url, result: 'moved' }]);
  });
});

describe('SSRF: only allow-listed peers are ever contacted', () => {
  it('a previousManager that is not a known peer is never fetched (result none)', async () => {
    const internal = await victim();
    try {
      for (const previousManager of [internal.url, `${internal.url}/`, `${internal.url.replace('127.0.0.1', 'localhost')}`, 'http://169.254.169.254', 'file:///etc/passwd']) {
        const answer = await connect(b, 'ssrf-dev', 100, [{ id: 'ssrf-dev', kind: 'device', previousManager }]);
        if (answer.status === 400) continue; // not even a URL the schema accepts
        expect(answer.status).toBe(200);
        expect(EXCHANGES.connection.answer.parse(answer.answer).moves).toEqual([{ target: 'ssrf-dev', from: previousManager, result: 'none' }]);
      }
      expect(internal.hits).toEqual([]);
    } finally {
      await internal.close();
    }
  });

  it('an allowed peer cannot bounce the manager elsewhere with a redirect', async () => {
    const internal = await victim();
    const bouncer = http.createServer((request, response) => response.writeHead(302, { location: `${internal.url}/latest/meta-data${request.url}` }).end());
    await new Promise<void>((resolve) => bouncer.listen(0, '127.0.0.1', resolve));
    const bouncerUrl = `http://127.0.0.1:${(bouncer.address() as AddressInfo).port}`;
    b.manager.peers.add(bouncerUrl);
    try {
      const answer = await connect(b, 'bounced', 100, [{ id: 'bounced', kind: 'device', previousManager: bouncerUrl }]);
      expect(EXCHANGES.connection.answer.parse(answer.answer).moves[0]?.result).toBe('unreachable');
      expect(internal.hits).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => bouncer.close(() => resolve()));
      await internal.close();
    }
  });

  it('the CLI takes --peer (repeated) and --peers-file only with --peer-secret-file, and checks the URLs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-peers-cli-'));
    try {
      const secret = join(dir, 'peer-secret');
      await writeFile(secret, `${PEER_SECRET}\n`, { mode: 0o600 });
      const peersFile = join(dir, 'peers');
      await writeFile(peersFile, '# the other managers\nhttp://m2.example:8080\n\nhttps://m3.example\n');
      const attempt = async (args: string[]) => {
        const err: string[] = [];
        const controller = new AbortController();
        let peers: string[] = [];
        const code = await run(['--fleet', fixture.fleetFile, '--port', '0', '--quiet', ...args], { stdout: () => {}, stderr: (t) => err.push(t) }, {
          signal: controller.signal,
          onListening: (server) => {
            peers = server.manager.peers.list();
            controller.abort();
          },
        });
        return { code, err: err.join(''), peers };
      };
      expect((await attempt(['--peer', 'http://m2.example:8080'])).err).toMatch(/need --peer-secret-file/);
      expect((await attempt(['--peer', 'http://user:pw@m2.example', '--peer-secret-file', secret])).code).toBe(2);
      expect((await attempt(['--peer', 'http://m2.example/path', '--peer-secret-file', secret])).code).toBe(2);
      const ok = await attempt(['--peer', 'http://M1.example:80/', '--peer=http://m4.example', '--peers-file', peersFile, '--peer-secret-file', secret]);
      expect(ok.code).toBe(0);
      expect(ok.peers.sort()).toEqual(['http://m1.example', 'http://m2.example:8080', 'http://m4.example', 'https://m3.example']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
