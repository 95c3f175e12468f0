import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGES } from '../../agent/delivery/messages.ts';
import { type Fleet, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { JOURNAL_FILE } from '../../server/journal.ts';
import { ADMIN, ADMIN_TOKEN, type Fixture, connectionReport, defaultFleet, fileCollection, getJson, httpRequest, identifyRequest, makeFixture, postCbor, softwareInventory, statusReport } from './helpers.ts';

let fixture: Fixture;
let fleet: Fleet;
let dataDir: string;
let server: RunningManager;

beforeAll(async () => {
  fixture = await makeFixture({ fleet: { ...defaultFleet(), defaults: { group: 'default' } } });
  fleet = await readFleetFile(fixture.fleetFile);
  dataDir = await mkdtemp(join(tmpdir(), 'dm-data-'));
  server = await startServer({ deviceAuth: 'off', fleet, dataDir, clockOffsetMs: -5_000, adminToken: ADMIN_TOKEN });
});
afterAll(async () => {
  await server?.close();
  await fixture?.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

const post = async (path: string, value: unknown) => {
  const result = await postCbor(server.url, path, value);
  expect(result.status, JSON.stringify(result.answer)).toBe(200);
  return result.answer;
};

describe('status and report storage', () => {
  it('keeps status reports in order and shows the last one in the device list', async () => {
    const phases = ['downloadBegin', 'downloadEnd', 'postInstallEnd'] as const;
    for (const [index, phase] of phases.entries())
      EXCHANGES.status.answer.parse(await post('/dm/v1/status', statusReport('dev-1', { phase, referenceCounter: 10 + index, ...(phase === 'postInstallEnd' ? { exitCode: 0, output: 'ok\n' } : {}) })));
    const { json: history } = await getJson(`${server.url}/api/devices/dev-1/status`);
    expect(history.map((entry: { phase: string }) => entry.phase)).toEqual([...phases]);
    expect(history[2]).toMatchObject({ exitCode: 0, output: 'ok\n', receivedUtcMs: expect.any(Number) });
    const { json: devices } = await getJson(`${server.url}/api/devices`);
    const dev1 = devices.find((device: { id: string }) => device.id === 'dev-1');
    expect(dev1).toMatchObject({ enrolled: 'fleet', groups: ['base'], referenceCounter: 12, lastStatus: { phase: 'postInstallEnd', outcome: 'success' } });
    // Received time is the manager's UTC (5 s behind here), not the host's.
    expect(dev1.lastSeenUtcMs).toBeLessThan(Date.now() - 4_000);
    // dev-2 is in the fleet but never seen.
    expect(devices.find((device: { id: string }) => device.id === 'dev-2')).toMatchObject({ lastSeenUtcMs: null, lastStatus: null });
  });

  it('keeps inventories: history by kind, the latest of each on the device, file contents as base64', async () => {
    const content = new TextEncoder().encode('device-01\n');
    await post('/dm/v1/report', softwareInventory('dev-1'));
    await post('/dm/v1/report', fileCollection('dev-1', content));
    const { json: files } = await getJson(`${server.url}/api/devices/dev-1/reports?kind=fileCollection`);
    expect(files).toHaveLength(1);
    expect(Buffer.from(files[0].files[0].content.base64, 'base64').toString()).toBe('device-01\n');
    expect((await getJson(`${server.url}/api/devices/dev-1/reports`)).json.map((r: { kind: string }) => r.kind)).toEqual(['softwareInventory', 'fileCollection']);
    expect((await getJson(`${server.url}/api/devices/dev-1/reports?kind=everything`)).status).toBe(400);
    const { json: device } = await getJson(`${server.url}/api/devices/dev-1`);
    expect(Object.keys(device.inventories).sort()).toEqual(['fileCollection', 'softwareInventory']);
    expect(device.inventories.softwareInventory.packages[0].name).toBe('hello');
  });

  it('shows a device in detail: assignments, resolved list, identity, installed list', async () => {
    await post('/dm/v1/identify', identifyRequest('dev-2'));
    await post('/dm/v1/connection', connectionReport('dev-2', 77, { installed: [{ name: 'hello', version: '1.0.0' }] }));
    const { json } = await getJson(`${server.url}/api/devices/dev-2`);
    expect(json).toMatchObject({
      id: 'dev-2',
      groups: ['base', 'beta'],
      own: [{ name: 'tools', remove: true }, { name: 'extra', version: '1.0.0', optional: true }],
      nextPollMs: 60_000,
      identity: { model: 'sim' },
      targets: [{ id: 'dev-2', kind: 'device' }],
      referenceCounter: 77,
      installed: { packages: [{ name: 'hello', version: '1.0.0' }] },
    });
    expect(json.assigned.map((p: { name: string; version: string }) => `${p.name}@${p.version}`)).toEqual(['hello@2.0.0', 'extra@1.0.0']);
    expect((await getJson(`${server.url}/api/devices/nobody`)).status).toBe(404);
  });
});

describe('admin API', () => {
  it('PUT packages replaces the device\'s own assignments, checked against the catalogue', async () => {
    const bad = await getJson(`${server.url}/api/devices/dev-1/packages`, { method: 'PUT', body: [{ name: 'hello', version: '7.0.0' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/\[0\]\.version: no version "7.0.0"/);
    const ok = await getJson(`${server.url}/api/devices/dev-1/packages`, { method: 'PUT', body: [{ name: 'hello', version: '2.0.0' }, { name: 'tools', remove: true }] });
    expect(ok.status).toBe(200);
    const list = EXCHANGES.identify.answer.parse(await post('/dm/v1/identify', identifyRequest('dev-1')));
    expect(list.packages.map((p) => `${p.name}@${p.version}`)).toEqual(['hello@2.0.0']);
    expect((await getJson(`${server.url}/api/devices/nobody/packages`, { method: 'PUT', body: [] })).status).toBe(404);
  });

  it('refuses what it cannot read: not JSON → 400, wrong content-type → 415, wrong method → 405, no route → 404', async () => {
    const put = (body: string, type: string) => httpRequest(`${server.url}/api/devices/dev-1/packages`, { method: 'PUT', headers: { 'content-type': type, ...ADMIN }, body: new TextEncoder().encode(body) });
    expect((await put('[{', 'application/json')).status).toBe(400);
    expect((await put('[]', 'text/plain')).status).toBe(415);
    const wrong = await httpRequest(`${server.url}/api/devices`, { method: 'DELETE', headers: ADMIN });
    expect([wrong.status, wrong.headers.allow]).toEqual([405, 'GET']);
    expect(JSON.parse((await httpRequest(`${server.url}/api/nothing`, { headers: ADMIN })).body.toString()).error.code).toBe('notFound');
  });

  it('reports the manager\'s address and clock', async () => {
    const { json } = await getJson(`${server.url}/api/manager`);
    expect(json).toMatchObject({ address: server.url, clockOffsetMs: -5_000 });
  });
});

describe('persistence (dataDir)', () => {
  it('a restarted manager replays status, reports, records, enrolments and admin changes; a torn line is skipped', async () => {
    await post('/dm/v1/identify', identifyRequest('walk-in'));
    await post('/dm/v1/connection', connectionReport('walk-in', 5));
    await getJson(`${server.url}/api/devices/walk-in/redirect`, { method: 'POST', body: { url: 'http://elsewhere.test:8080' } });
    const before = {
      status: (await getJson(`${server.url}/api/devices/dev-1/status`)).json,
      reports: (await getJson(`${server.url}/api/devices/dev-1/reports`)).json,
      packages: (await getJson(`${server.url}/api/devices/dev-1/packages`)).json,
      record: (await getJson(`${server.url}/api/targets/walk-in`)).json,
    };
    await server.manager.flush();
    await server.close();
    await appendFile(join(dataDir, JOURNAL_FILE), '{"type":"status","utc');

    const lines: string[] = [];
    server = await startServer({ deviceAuth: 'off', fleet, dataDir, adminToken: ADMIN_TOKEN, log: (line) => lines.push(line) });
    expect(lines.some((line) => /unreadable line skipped/.test(line))).toBe(true);
    expect((await getJson(`${server.url}/api/devices/dev-1/status`)).json).toEqual(before.status);
    expect((await getJson(`${server.url}/api/devices/dev-1/reports`)).json).toEqual(before.reports);
    expect((await getJson(`${server.url}/api/devices/dev-1/packages`)).json).toEqual(before.packages);
    expect((await getJson(`${server.url}/api/targets/walk-in`)).json).toEqual(before.record);
    const walkIn = (await getJson(`${server.url}/api/devices/walk-in`)).json;
    expect(walkIn).toMatchObject({ enrolled: 'auto', groups: ['default'], redirect: 'http://elsewhere.test:8080' });
  });
});
