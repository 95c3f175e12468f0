import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGES, errorAnswerSchema, type Instruction, type Location, type PackageList } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { createManager } from '../../server/manager.ts';
import { bearerHeader } from '../../server/auth.ts';
import {
  ADMIN_TOKEN,
  DEFAULT_ARTIFACTS,
  type Fixture,
  connectionReport,
  defaultFleet,
  getJson,
  httpRequest,
  identifyRequest,
  instructionRequest,
  locationRequest,
  makeFixture,
  postCbor,
  sha256,
  softwareInventory,
  statusReport,
} from './helpers.ts';

let fixture: Fixture;
let server: RunningManager;
let base: string;

beforeAll(async () => {
  fixture = await makeFixture();
  server = await startServer({ deviceAuth: 'off', fleet: await readFleetFile(fixture.fleetFile), maxBodyBytes: 64 * 1024, adminToken: ADMIN_TOKEN });
  base = server.url;
});
afterAll(async () => {
  await server?.close();
  await fixture?.cleanup();
});

/** Posts a valid request and returns the answer after checking it against its schema. */
async function exchange<E extends keyof typeof EXCHANGES>(endpoint: E, request: unknown): Promise<ReturnType<(typeof EXCHANGES)[E]['answer']['parse']>> {
  const { status, headers, answer } = await postCbor(base, `/dm/v1/${endpoint}`, request);
  expect(status, JSON.stringify(answer)).toBe(200);
  expect(headers['content-type']).toBe('application/cbor');
  const parsed = EXCHANGES[endpoint].answer.parse(answer) as ReturnType<(typeof EXCHANGES)[E]['answer']['parse']>;
  expect((parsed as { manager: { address: string } }).manager.address).toBe(base);
  return parsed;
}

async function expectError(path: string, status: number, code: string, body: { value?: unknown; raw?: Uint8Array; contentType?: string } = {}): Promise<string> {
  const result = await postCbor(base, path, body.value, body);
  expect(result.status).toBe(status);
  const error = errorAnswerSchema.parse(result.answer);
  expect(error.code).toBe(code);
  return error.message;
}

describe('protocol endpoints (valid requests)', () => {
  it('identify answers the resolved package list, reports and next poll; the manager carries its address and UTC', async () => {
    const before = Date.now();
    const list: PackageList = await exchange('identify', identifyRequest('dev-2'));
    expect(list.manager.utcMs).toBeGreaterThanOrEqual(before);
    expect(list.packages).toEqual([
      { name: 'hello', version: '2.0.0', digest: sha256(DEFAULT_ARTIFACTS['artifacts/hello-2.0.0.bin']!), optional: false, size: 20_000 },
      { name: 'extra', version: '1.0.0', digest: sha256(new Uint8Array(0)), optional: true, size: 0 },
    ]);
    expect(list.reports.map((report) => report.kind)).toEqual(['softwareInventory', 'machineInventory', 'fileCollection']);
    expect(list.nextPollMs).toBe(60_000);
    expect(list.redirect).toBeUndefined();
    // dev-1 has no own nextPollMs: the fleet default.
    expect((await exchange('identify', identifyRequest('dev-1'))).nextPollMs).toBe(3_600_000);
  });

  it('connection stores the stamp and the installed list; no previous manager, no moves', async () => {
    const installed = [{ name: 'hello', version: '1.0.0', digest: 'b'.repeat(64) }];
    const ack = await exchange('connection', connectionReport('dev-1', 42, { installed }));
    expect(ack.moves).toEqual([]);
    const { json: device } = await getJson(`${base}/api/devices/dev-1`);
    expect(device.referenceCounter).toBe(42);
    expect(device.installed.packages).toEqual(installed);
    const { json: record } = await getJson(`${base}/api/targets/dev-1`);
    expect(record).toMatchObject({ target: 'dev-1', kind: 'device', deviceId: 'dev-1', referenceCounter: 42, packages: installed });
  });

  it('instruction and location lead to the artifact bytes', async () => {
    const instruction: Instruction = await exchange('instruction', instructionRequest('dev-1', 'tools', '1.0.0'));
    expect(instruction).toMatchObject({ name: 'tools', version: '1.0.0', size: 17, digest: sha256(DEFAULT_ARTIFACTS['artifacts/tools.bin']!) });
    expect(instruction.postInstall).toEqual({ command: '/bin/sh', args: ['-c', 'echo tools'], timeoutMs: 60_000 });
    expect(instruction.uninstall?.args).toEqual(['-c', 'echo untools']);
    const location: Location = await exchange('location', locationRequest('dev-1', instruction.locationToken));
    expect(location.url.startsWith(`${base}/artifacts/tools/1.0.0?`)).toBe(true);
    expect(location.expiresUtcMs).toBeGreaterThan(location.manager.utcMs);
    const artifact = await httpRequest(location.url);
    expect(artifact.status).toBe(200);
    expect(sha256(artifact.body)).toBe(instruction.digest);
  });

  it('status and report are acknowledged and stored', async () => {
    await exchange('status', statusReport('dev-1', { phase: 'downloadEnd', bytes: 17, attempts: 1 }));
    await exchange('report', softwareInventory('dev-1'));
    const { json: status } = await getJson(`${base}/api/devices/dev-1/status`);
    expect(status.at(-1)).toMatchObject({ phase: 'downloadEnd', bytes: 17, receivedUtcMs: expect.any(Number) });
  });
});

describe('protocol endpoints (refusals)', () => {
  it('malformed CBOR → 400 badCbor', async () => {
    await expectError('/dm/v1/identify', 400, 'badCbor', { raw: new Uint8Array([0xff, 0x00]) });
    // Two items where one is expected.
    await expectError('/dm/v1/status', 400, 'badCbor', { raw: new Uint8Array([...encodeCbor(1), ...encodeCbor(2)]) });
    await expectError('/dm/v1/status', 400, 'badCbor', { raw: new Uint8Array(0) });
  });

  it('schema violations → 400 badMessage naming the path', async () => {
    const bad = { ...identifyRequest('dev-1'), targets: [{ id: 'has space', kind: 'device' }] };
    expect(await expectError('/dm/v1/identify', 400, 'badMessage', { value: bad })).toMatch(/targets\[0\]\.id/);
    expect(await expectError('/dm/v1/connection', 400, 'badMessage', { value: { ...connectionReport('dev-1', 1), referenceCounter: -1 } })).toMatch(/referenceCounter/);
    // A request sent to the wrong endpoint is a schema violation too.
    expect(await expectError('/dm/v1/location', 400, 'badMessage', { value: statusReport('dev-1') })).toMatch(/^type/);
  });

  it('wrong content-type → 415; oversized body → 413; the server keeps serving', async () => {
    await expectError('/dm/v1/identify', 415, 'unsupportedMediaType', { value: identifyRequest('dev-1'), contentType: 'application/json' });
    // Declared length over the cap (64 KiB here).
    const big = encodeCbor({ ...identifyRequest('dev-1'), padding: 'x'.repeat(70 * 1024) });
    await expectError('/dm/v1/identify', 413, 'tooLarge', { raw: big });
    await exchange('identify', identifyRequest('dev-1'));
  });

  it('oversized body without a declared length (chunked) → 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${base}/dm/v1/report`, { method: 'POST', headers: { 'content-type': 'application/cbor', 'transfer-encoding': 'chunked' }, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      // 80 KiB in 8 KiB chunks; the server answers once it has counted past 64 KiB.
      for (let i = 0; i < 10; i++) request.write(new Uint8Array(8 * 1024));
      request.end();
    });
    expect(status).toBe(413);
    await exchange('identify', identifyRequest('dev-1'));
  });

  it('unknown device → 404 (no auto-enrolment configured)', async () => {
    await expectError('/dm/v1/identify', 404, 'unknownDevice', { value: identifyRequest('stranger') });
    await expectError('/dm/v1/status', 404, 'unknownDevice', { value: statusReport('stranger') });
  });

  it('unknown path → 404; GET on an endpoint → 405', async () => {
    await expectError('/dm/v1/nope', 404, 'notFound', { value: {} });
    const get = await httpRequest(`${base}/dm/v1/identify`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(errorAnswerSchema.parse(decodeCbor(get.body)).code).toBe('methodNotAllowed');
    const other = await httpRequest(`${base}/nothing/here`);
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body.toString()).error.code).toBe('notFound');
  });

  it('instruction for a package not assigned → 404 notAssigned', async () => {
    // dev-2 had tools removed, and hello 1.0.0 replaced by 2.0.0.
    await expectError('/dm/v1/instruction', 404, 'notAssigned', { value: instructionRequest('dev-2', 'tools', '1.0.0') });
    await expectError('/dm/v1/instruction', 404, 'notAssigned', { value: instructionRequest('dev-2', 'hello', '1.0.0') });
  });

  it('location token forged, or from another device → 403 badToken', async () => {
    const { answer } = await postCbor(base, '/dm/v1/instruction', instructionRequest('dev-1', 'hello', '1.0.0'));
    const token = (answer as Instruction).locationToken;
    await expectError('/dm/v1/location', 403, 'badToken', { value: locationRequest('dev-2', token) });
    await expectError('/dm/v1/location', 403, 'badToken', { value: locationRequest('dev-1', `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`) });
    await expectError('/dm/v1/location', 403, 'badToken', { value: locationRequest('dev-1', 'garbage') });
  });
});

describe('enrolment, redirect, and the in-process handler', () => {
  it('auto-enrols unknown devices into the default group when the fleet says so', async () => {
    const fleet = { ...defaultFleet(), defaults: { group: 'default' } };
    const local = await makeFixture({ fleet });
    try {
      const manager = createManager({ deviceAuth: 'off', fleet: await readFleetFile(local.fleetFile), address: 'http://manager.test:8080' });
      // Mounted without sockets, as on the mock network (which passes absolute URLs).
      const answer = await manager.handle({
        method: 'POST',
        url: 'http://manager.test:8080/dm/v1/identify',
        headers: { 'content-type': 'application/cbor' },
        body: encodeCbor(identifyRequest('newcomer')),
      });
      expect(answer.status).toBe(200);
      const list = EXCHANGES.identify.answer.parse(decodeCbor(answer.body as Uint8Array));
      expect(list.manager.address).toBe('http://manager.test:8080');
      expect(list.packages.map((p) => `${p.name}@${p.version}`)).toEqual(['hello@1.0.0']);
      expect(list.nextPollMs).toBeUndefined();
      const devices = await manager.handle({ method: 'GET', url: '/api/devices', headers: bearerHeader(manager.adminToken), body: new Uint8Array(0) });
      const listed = JSON.parse(new TextDecoder().decode(devices.body as Uint8Array)) as { id: string; enrolled: string }[];
      expect(listed.find((device) => device.id === 'newcomer')?.enrolled).toBe('auto');
    } finally {
      await local.cleanup();
    }
  });

  it('a redirect set over the admin API rides on every identify answer until deleted', async () => {
    const set = await getJson(`${base}/api/devices/dev-1/redirect`, { method: 'POST', body: { url: 'http://127.0.0.1:9/' } });
    expect(set.status).toBe(200);
    expect((await exchange('identify', identifyRequest('dev-1'))).redirect).toBe('http://127.0.0.1:9');
    expect((await exchange('identify', identifyRequest('dev-1'))).redirect).toBe('http://127.0.0.1:9');
    expect((await getJson(`${base}/api/devices/dev-1/redirect`, { method: 'DELETE' })).status).toBe(200);
    expect((await exchange('identify', identifyRequest('dev-1'))).redirect).toBeUndefined();
    expect((await getJson(`${base}/api/devices/dev-1/redirect`, { method: 'POST', body: { url: 'ftp://x' } })).status).toBe(400);
  });

  it('refuses options that would make a broken manager', async () => {
    const fleet = await readFleetFile(fixture.fleetFile);
    expect(() => createManager({ deviceAuth: 'off', fleet, address: 'http://127.0.0.1:8080/prefix' })).toThrow(/address/);
    expect(() => createManager({ deviceAuth: 'off', fleet: JSON.parse('{}'), address: 'http://127.0.0.1:8080' })).toThrow(/loadFleet/);
    expect(() => createManager({ deviceAuth: 'off', fleet, address: 'http://a.test', clockOffsetMs: 1.5 })).toThrow(/clockOffsetMs/);
    expect(() => createManager({ deviceAuth: 'off', fleet, address: 'http://a.test', urlSecret: 'short' })).toThrow(/urlSecret/);
  });
});
