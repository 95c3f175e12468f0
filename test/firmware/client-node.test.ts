// The update service over loopback: the reference server's two real listeners (internal plain
// HTTP, external HTTPS with a test CA), the client on the Node HAL, and curl as a second client.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateClient } from '../../agent/firmware/client.ts';
import { createNodeNet, type NodeNet } from '../../hal/node/net.ts';
import { type RunningUpdateServer, Users, startUpdateServer } from '../../server/updates/index.ts';
import { ADMIN_TOKEN, ALICE, sha256Hex, tempDir, usersJson, writeImageFolder } from '../server/updates-fixture.ts';
import { generateCertificates, type TestCertificates } from '../support/tls.ts';

const run = promisify(execFile);
const identity = { deviceId: 'phone-1', model: 'CX600', hardwareId: 'hw-cx600', firmwareVersion: '4.0.1' };

let dir: string;
let cleanup: () => Promise<void>;
let certs: TestCertificates;
let server: RunningUpdateServer;
let plainExternal: RunningUpdateServer;
let net: NodeNet;
let client: UpdateClient;
let image: Uint8Array;
const serverLog: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  certs = await generateCertificates();
  const { folder, bytes } = await writeImageFolder(dir, 'cab', [{ model: 'CX600', version: '4.0.2', bytes: new Uint8Array(300_000).map((_, i) => (i * 7) & 255) }]);
  image = bytes[0]!;
  const users = Users.parse(await usersJson());
  server = await startUpdateServer({
    adminToken: ADMIN_TOKEN,
    users,
    external: { tls: { cert: certs.cert, key: certs.key } },
    importFolders: [folder],
    dataDir: join(dir, 'data'),
    log: (line) => serverLog.push(line),
  });
  // A misconfigured deployment: the external listener without TLS.
  plainExternal = await startUpdateServer({ adminToken: ADMIN_TOKEN, users, importFolders: [folder], log: (line) => serverLog.push(line) });
  net = createNodeNet({ ca: certs.ca, resolvConfPath: join(dir, 'resolv.conf') });
  client = new UpdateClient({ net, timeoutMs: 10_000, allowInsecure: true }); // loopback internal listener: plain HTTP
}, 60_000);

afterAll(async () => {
  net?.close();
  await server?.close();
  await plainExternal?.close();
  await cleanup();
});

const adminPost = (path: string) =>
  fetch(`${server.internalUrl}/api/updates${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

describe('over loopback with the Node HAL', () => {
  it('the listeners announce what they are: internal http, external https', () => {
    expect(server.service.serviceUrls()).toEqual({ internal: `${server.internalUrl}/ucupdates/v1`, external: `${server.externalUrl}/ucupdates/v1` });
    expect(server.internalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.externalUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('discovery by provisioning, then the check against what it found; without provisioning and with no DHCP domain, a typed result', async () => {
    const found = await client.discover({ provisioned: server.service.serviceUrls(), everSignedIn: true });
    expect(found).toEqual({ kind: 'found', source: 'provisioned', urls: server.service.serviceUrls() });
    if (found.kind !== 'found') throw new Error(found.kind);
    expect(await client.check({ urls: found.urls, location: 'unknown', identity, testDevice: false })).toMatchObject({ zone: 'internal', location: 'inside' });
    // The temp resolv.conf does not exist: the Node HAL reports no domain, so DNS is not even asked.
    expect(await client.discover({ everSignedIn: false })).toMatchObject({ kind: 'none', reason: 'noDomain' });
  });

  it('pending → downloads 0; approved by the admin call → the image, inside and outside', async () => {
    const urls = server.service.serviceUrls();
    expect(await client.check({ urls, location: 'inside', identity, testDevice: false })).toMatchObject({ kind: 'upToDate' });
    expect((await fetch(`${server.internalUrl}/api/updates/rules/r1/approve`, { method: 'POST' })).status).toBe(401);
    expect((await adminPost('/rules/r1/approve')).status).toBe(200);
    expect(await client.check({ urls, location: 'inside', identity, testDevice: false })).toMatchObject({ kind: 'update', zone: 'internal', image: { sha256: sha256Hex(image) } });
    expect(await client.check({ urls, location: 'outside', identity, testDevice: false })).toMatchObject({ kind: 'needsSignIn' });
    expect(await client.check({ urls, location: 'outside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'update', zone: 'external' });
    expect(await client.check({ urls, location: 'outside', identity, testDevice: false, user: { ...ALICE, password: 'x' } })).toMatchObject({ kind: 'failed', error: { code: 'badCredentials' } });
  });

  it('downloads the image from outside in two Range requests through the HAL', async () => {
    await adminPost('/rules/r1/approve');
    const check = await client.check({ urls: server.service.serviceUrls(), location: 'outside', identity, testDevice: false, user: ALICE });
    if (check.kind !== 'update') throw new Error(check.kind);
    const sources = client.imageSources(check.image, { location: 'outside', user: ALICE });
    if (sources.kind !== 'ok') throw new Error(sources.kind);
    const [source] = sources.sources;
    const first = await net.http.request({ method: 'GET', url: source!.url, headers: { ...source!.headers, range: 'bytes=0-99999' } });
    expect(first.status).toBe(206);
    const part1 = await first.bytes();
    const rest = await net.http.request({ method: 'GET', url: source!.url, headers: { ...source!.headers, range: `bytes=${part1.length}-`, 'if-range': first.headers.etag! } });
    expect(rest.status).toBe(206);
    const part2 = await rest.bytes();
    expect(sha256Hex(new Uint8Array([...part1, ...part2]))).toBe(check.image.sha256);
    expect(server.service.journal().filter((entry) => entry.type === 'download' && entry.zone === 'external' && entry.user === 'alice')).toHaveLength(2);
  });

  it('curl: a resumed download outside with -u over HTTPS, refused without it', async () => {
    await adminPost('/rules/r1/approve');
    const url = `${server.service.serviceUrls().external}/images/${sha256Hex(image)}`;
    const caFile = join(dir, 'ca.pem');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(caFile, certs.ca);
    const out = join(dir, 'image.part');
    await writeFile(out, image.subarray(0, 12345));
    const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '-u', `${ALICE.user}:${ALICE.password}`, '-C', '-', '-o', out, '-w', '%{http_code}', url]);
    expect(stdout).toBe('206');
    expect(sha256Hex(new Uint8Array(await readFile(out)))).toBe(sha256Hex(image));
    const refused = await run('curl', ['-sS', '--cacert', caFile, '-o', '/dev/null', '-w', '%{http_code}', url]);
    expect(refused.stdout).toBe('401');
  });

  it('an external listener without TLS: the client refuses to send credentials, and the server refuses them unread', async () => {
    const urls = plainExternal.service.serviceUrls();
    expect(urls.external).toMatch(/^http:/);
    expect(await client.check({ urls, location: 'outside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'failed', error: { code: 'insecureUrl' } });
    const { stdout } = await run('curl', ['-sS', '-u', `${ALICE.user}:${ALICE.password}`, '-X', 'POST', '-H', 'content-type: application/cbor', '--data-binary', '@/dev/null', '-o', '/dev/null', '-w', '%{http_code}', `${urls.external}/check`]);
    expect(stdout).toBe('403');
    expect(plainExternal.service.journal().filter((entry) => entry.type === 'refused').map((entry) => entry.type === 'refused' && entry.code)).toEqual(['insecureCredentials']);
  });

  it('no credential reaches the server log, the journal or its file', async () => {
    await server.service.flush();
    const file = await readFile(join(dir, 'data', 'updates.jsonl'), 'utf8');
    const everything = serverLog.join('\n') + JSON.stringify(server.service.journal()) + JSON.stringify(plainExternal.service.journal()) + file;
    expect(file).toContain('"type":"check"');
    expect(everything).not.toContain(ALICE.password);
    expect(everything).not.toContain(Buffer.from(`${ALICE.user}:${ALICE.password}`).toString('base64'));
  });
});
