// The update service client on the mock HAL, against the reference service mounted on the mock
// network: discovery by provisioning and by DNS, the check inside and outside, credentials over
// HTTPS only and never logged, URL choice and fallback, image sources with Range, reports.
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpdateClient, planContacts } from '../../agent/firmware/client.ts';
import { formatDiscoveryRecord } from '../../agent/firmware/messages.ts';
import { createLogger } from '../../agent/log.ts';
import { NetworkError } from '../../hal/errors.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork, type MockNetwork } from '../../hal/mock/net.ts';
import type { Device, DnsResolver } from '../../hal/types.ts';
import type { UpdateService } from '../../server/updates/index.ts';
import { ALICE, EXTERNAL, INTERNAL, mount, sha256Hex, tempDir, testService, writeImageFolder } from '../server/updates-fixture.ts';

const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8'));
const identity = { deviceId: 'phone-1', model: 'CX600', hardwareId: 'hw-cx600', firmwareVersion: '4.0.1' };

let root: string;
let cleanup: () => Promise<void>;
let network: MockNetwork;
let hardware: MockHardware;
let device: Device;
let service: UpdateService;
let client: UpdateClient;
let image: Uint8Array;

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir());
  network = createMockNetwork();
  hardware = new MockHardware({ ...mockOptionsFromBoard(sim), identity: { deviceId: 'phone-1', model: 'CX600' }, network });
  device = hardware.boot();
  service = await testService({ testDevices: ['phone-test'] });
  mount(network, service);
  const { folder, bytes } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2', from: ['4.0.1'] }]);
  image = bytes[0]!;
  await service.importFolder(folder);
  client = new UpdateClient({ net: device.net, log: createLogger(device, 'debug'), timeoutMs: 5_000, allowInsecure: true }); // the seeds' internal URL: plain HTTP inside the firewall
});

afterEach(async () => {
  await device.close();
  await cleanup();
});

const urls = () => service.serviceUrls();
const sent = () => network.requests.filter((request) => request.client === 'phone-1');
/** Every log line of the device and every journal entry of the service, as one text. */
const everythingRecorded = () => JSON.stringify(hardware.logs) + JSON.stringify(service.journal());

describe('discovery', () => {
  it('in-band provisioning wins, and DNS is not asked', async () => {
    network.setDomain('corp.test');
    const result = await client.discover({ provisioned: urls(), everSignedIn: true });
    expect(result).toEqual({ kind: 'found', source: 'provisioned', urls: urls() });
  });

  it('malformed provisioning is a typed result', async () => {
    expect(await client.discover({ provisioned: { internal: 'ftp://x', external: EXTERNAL } as never, everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'badProvisioning' });
  });

  it('with none and no user ever signed in: the TXT record at ucupdates-r2.<DHCP domain>', async () => {
    network.setDomain('corp.test');
    network.setDns('ucupdates-r2.corp.test', 'TXT', [['v=spf1 -all'], formatDiscoveryRecord(urls())]);
    expect(await client.discover({ everSignedIn: false })).toEqual({ kind: 'found', source: 'dns', urls: urls(), name: 'ucupdates-r2.corp.test' });
    expect(hardware.logs.some((record) => record.message === 'update service discovered by DNS')).toBe(true);
  });

  it('once a user has signed in, DNS is not used: the URLs come by provisioning', async () => {
    network.setDomain('corp.test');
    network.setDns('ucupdates-r2.corp.test', 'TXT', [formatDiscoveryRecord(urls())]);
    expect(await client.discover({ everSignedIn: true })).toMatchObject({ kind: 'none', reason: 'signedInWithoutProvisioning', retryable: false });
  });

  it('no domain, no record, a bad record: typed, not retryable', async () => {
    expect(await client.discover({ everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'noDomain' });
    network.setDomain('corp.test');
    expect(await client.discover({ everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'noRecord' });
    network.setDns('ucupdates-r2.corp.test', 'TXT', [['v=ucupd1 internal=http://x.test']]);
    expect(await client.discover({ everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'badRecord', retryable: false });
    network.setDns('ucupdates-r2.corp.test', 'TXT', [formatDiscoveryRecord(urls()), formatDiscoveryRecord(urls())]);
    expect(await client.discover({ everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'badRecord', message: expect.stringMatching(/2 TXT records/) });
  });

  it('a failing resolver is retryable', async () => {
    const dns: DnsResolver = {
      resolve: (async () => {
        throw new NetworkError('timeout', 'no answer');
      }) as DnsResolver['resolve'],
      domain: async () => 'corp.test',
    };
    const flaky = new UpdateClient({ net: { http: device.net.http, dns }, allowInsecure: true });
    expect(await flaky.discover({ everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'dnsUnavailable', retryable: true });
  });
});

describe('the check', () => {
  it('inside: pending updates reach test devices only; approved ones everybody', async () => {
    const base = { urls: urls(), location: 'inside' as const, identity, testDevice: false };
    expect(await client.check(base)).toMatchObject({ kind: 'upToDate', zone: 'internal', location: 'inside' });
    expect(await client.check({ ...base, testDevice: true })).toMatchObject({ kind: 'upToDate' });
    expect(await client.check({ ...base, identity: { ...identity, deviceId: 'phone-test' }, testDevice: true })).toMatchObject({
      kind: 'update',
      image: { version: '4.0.2', size: image.length, sha256: sha256Hex(image) },
    });
    service.decide('r1', 'approved');
    expect(await client.check(base)).toMatchObject({ kind: 'update', zone: 'internal' });
    expect(sent().every((request) => request.url.startsWith(INTERNAL) && request.headers.authorization === undefined)).toBe(true);
  });

  it('outside without a user: nothing is sent at all', async () => {
    const result = await client.check({ urls: urls(), location: 'outside', identity, testDevice: false });
    expect(result).toMatchObject({ kind: 'needsSignIn' });
    expect(sent()).toEqual([]);
  });

  it('outside with a user: the external URL over HTTPS with the credentials; they are never logged', async () => {
    service.decide('r1', 'approved');
    const result = await client.check({ urls: urls(), location: 'outside', identity, testDevice: false, user: ALICE });
    expect(result).toMatchObject({ kind: 'update', zone: 'external', location: 'outside' });
    expect(sent().map((request) => request.url)).toEqual([`${EXTERNAL}/ucupdates/v1/check`]);
    expect(sent()[0]!.headers.authorization).toMatch(/^Basic /);
    expect(service.journal().at(-1)).toMatchObject({ type: 'check', zone: 'external', user: 'alice' });
    const recorded = everythingRecorded();
    expect(recorded).not.toContain(ALICE.password);
    expect(recorded).not.toContain(sent()[0]!.headers.authorization!.slice(6));
  });

  it('an http:// external URL never gets the credentials: refused before sending', async () => {
    const insecure = { internal: urls().internal, external: 'http://updates.example.test/ucupdates/v1' };
    network.route('http://updates.example.test', service.handler({ zone: 'external', tls: false }).handle);
    const result = await client.check({ urls: insecure, location: 'outside', identity, testDevice: false, user: ALICE });
    expect(result).toMatchObject({ kind: 'failed', error: { name: 'UpdateClientError', code: 'insecureUrl', retryable: false } });
    expect(sent()).toEqual([]);
    expect(everythingRecorded()).not.toContain(ALICE.password);
  });

  it('without allowInsecure, an http:// service URL (provisioned or discovered) is refused before anything is sent; with it, each connection is logged', async () => {
    const strict = new UpdateClient({ net: device.net, log: createLogger(device, 'debug'), timeoutMs: 5_000 });
    expect(urls().internal).toMatch(/^http:/);
    const result = await strict.check({ urls: urls(), location: 'inside', identity, testDevice: false });
    expect(result).toMatchObject({ kind: 'failed', error: { name: 'UpdateClientError', code: 'insecureUrl', retryable: false, zone: 'internal' } });
    expect(sent()).toEqual([]);
    await client.check({ urls: urls(), location: 'inside', identity, testDevice: false });
    expect(hardware.logs.filter((line) => line.level === 'warn' && /INSECURE connection to manager http:\/\/updates\.corp\.test/.test(line.message))).toHaveLength(1);
  });

  it('a URL carrying userinfo is refused', async () => {
    const result = await client.check({ urls: { internal: 'http://u:p@updates.corp.test/ucupdates/v1', external: EXTERNAL }, location: 'inside', identity, testDevice: false });
    expect(result).toMatchObject({ kind: 'failed', error: { code: 'badUrl' } });
    expect(sent()).toEqual([]);
  });

  it('a wrong password is a typed failure, not a retry', async () => {
    const result = await client.check({ urls: urls(), location: 'outside', identity, testDevice: false, user: { ...ALICE, password: 'nope' } });
    expect(result).toMatchObject({ kind: 'failed', error: { code: 'badCredentials', retryable: false, status: 401 } });
    expect(everythingRecorded()).not.toContain('nope');
  });

  it('inside but the internal URL is down: the external one with the user; without a user, needsSignIn', async () => {
    network.unroute(INTERNAL);
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'upToDate', zone: 'external', location: 'outside' });
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false })).toMatchObject({ kind: 'needsSignIn' });
  });

  it('outside with a user but the external URL down: falls back to the internal one (without credentials)', async () => {
    network.unroute(EXTERNAL);
    const result = await client.check({ urls: urls(), location: 'outside', identity, testDevice: false, user: ALICE });
    expect(result).toMatchObject({ kind: 'upToDate', zone: 'internal' });
    const internal = sent().filter((request) => request.url.startsWith(INTERNAL));
    expect(internal).toHaveLength(1);
    expect(internal[0]!.headers.authorization).toBeUndefined();
  });

  it('unknown location: whichever URL answers decides', async () => {
    expect(await client.check({ urls: urls(), location: 'unknown', identity, testDevice: false })).toMatchObject({ kind: 'upToDate', location: 'inside' });
    network.unroute(INTERNAL);
    expect(await client.check({ urls: urls(), location: 'unknown', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'upToDate', location: 'outside' });
  });

  it('an "internal" URL that is really the external listener: asked to sign in, the user goes to the external URL; without one, needsSignIn', async () => {
    network.route(INTERNAL, service.handler({ zone: 'external', tls: true }).handle);
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'upToDate', zone: 'external' });
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false })).toMatchObject({ kind: 'needsSignIn' });
    expect(sent().filter((request) => request.url.startsWith(INTERNAL)).every((request) => request.headers.authorization === undefined)).toBe(true);
    network.unroute(EXTERNAL);
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'failed', error: { code: 'unreachable', zone: 'external' } });
  });

  it('both down: a retryable failure', async () => {
    network.unroute(INTERNAL);
    network.unroute(EXTERNAL);
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'failed', error: { code: 'unreachable', retryable: true } });
  });

  it('a 503 from the internal URL falls back; a malformed answer does not', async () => {
    network.fault({ kind: 'status', status: 503, url: `${INTERNAL}/`, times: 1 });
    expect(await client.check({ urls: urls(), location: 'inside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'upToDate', zone: 'external' });
    network.route('http://junk.test', async () => ({ status: 200, headers: { 'content-type': 'application/cbor' }, body: new Uint8Array([0xa1, 0x61, 0x78, 0x01]) }));
    const junk = await client.check({ urls: { internal: 'http://junk.test/x', external: EXTERNAL }, location: 'inside', identity, testDevice: false, user: ALICE });
    expect(junk).toMatchObject({ kind: 'failed', error: { code: 'badAnswer', retryable: false } });
  });
});

describe('image sources and download', () => {
  it('inside: the internal URL first, no credentials; Range resumes through the HAL', async () => {
    service.decide('r1', 'approved');
    const check = await client.check({ urls: urls(), location: 'inside', identity, testDevice: false });
    if (check.kind !== 'update') throw new Error(`expected an update, got ${check.kind}`);
    const sources = client.imageSources(check.image, { location: 'inside', user: ALICE });
    if (sources.kind !== 'ok') throw new Error(sources.kind);
    expect(sources.sources.map((source) => [source.zone, source.headers.authorization !== undefined])).toEqual([['internal', false], ['external', true]]);
    const [first] = sources.sources;
    const head = await device.net.http.request({ method: 'GET', url: first!.url, headers: { ...first!.headers, range: 'bytes=0-999' } });
    const part1 = await head.bytes();
    const tail = await device.net.http.request({ method: 'GET', url: first!.url, headers: { ...first!.headers, range: 'bytes=1000-' } });
    expect(tail.status).toBe(206);
    const part2 = await tail.bytes();
    expect(sha256Hex(new Uint8Array([...part1, ...part2]))).toBe(check.image.sha256);
  });

  it('outside: external first with credentials; without a user, needsSignIn; an http external URL is refused', async () => {
    service.decide('r1', 'approved');
    const check = await client.check({ urls: urls(), location: 'outside', identity, testDevice: false, user: ALICE });
    if (check.kind !== 'update') throw new Error(check.kind);
    const sources = client.imageSources(check.image, { location: 'outside', user: ALICE });
    if (sources.kind !== 'ok') throw new Error(sources.kind);
    expect(sources.sources[0]).toMatchObject({ zone: 'external', url: check.image.externalUrl });
    const response = await device.net.http.request({ method: 'GET', url: sources.sources[0]!.url, headers: sources.sources[0]!.headers });
    expect(sha256Hex(await response.bytes())).toBe(check.image.sha256);
    expect(client.imageSources(check.image, { location: 'outside' })).toMatchObject({ kind: 'needsSignIn' });
    expect(client.imageSources({ ...check.image, externalUrl: 'http://x.test/i' }, { location: 'outside', user: ALICE })).toMatchObject({ kind: 'failed', error: { code: 'insecureUrl' } });
  });
});

describe('reports', () => {
  it('reach the service once per report id', async () => {
    const report = { reportId: 'phone-1/7', deviceId: 'phone-1', model: 'CX600', fromVersion: '4.0.1', toVersion: '4.0.2', runningVersion: '4.0.2', outcome: 'installed' as const, utcMs: device.clock.utcMs() };
    expect(await client.report({ urls: urls(), location: 'inside' }, report)).toMatchObject({ kind: 'ok', answer: { duplicate: false } });
    expect(await client.report({ urls: urls(), location: 'outside', user: ALICE }, report)).toMatchObject({ kind: 'ok', zone: 'external', answer: { duplicate: true } });
    expect(service.journal().filter((entry) => entry.type === 'report')).toHaveLength(1);
  });
});

describe('planContacts (pure rules)', () => {
  const pair = { internal: 'https://in.test/u', external: 'https://out.test/u' };
  it.each([
    ['inside, no user', 'inside', false, [['internal', false]]],
    ['inside, user', 'inside', true, [['internal', false], ['external', true]]],
    ['outside, user', 'outside', true, [['external', true], ['internal', false]]],
    ['unknown, no user', 'unknown', false, [['internal', false]]],
  ] as const)('%s', (_name, location, withUser, expected) => {
    const plan = planContacts(pair, { location, ...(withUser ? { user: ALICE } : {}) });
    if (plan.kind !== 'ok') throw new Error(plan.kind);
    expect(plan.contacts.map((contact) => [contact.zone, contact.headers.authorization !== undefined])).toEqual(expected);
  });

  it('inside with a user and an http external URL: internal only (the insecure one is dropped, not used)', () => {
    const plan = planContacts({ ...pair, external: 'http://out.test/u' }, { location: 'inside', user: ALICE });
    expect(plan).toMatchObject({ kind: 'ok', contacts: [{ zone: 'internal' }] });
  });
});
