import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGES, type Instruction, type Location } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { run } from '../../cli/commands/server.ts';
import { main } from '../../cli/main.ts';
import { type RunningManager, startManager } from '../../server/http.ts';
import { type TestCertificates, generateCertificates } from '../support/tls.ts';
import { DEFAULT_ARTIFACTS, type Fixture, defaultFleet, getJson, httpRequest, identifyRequest, instructionRequest, locationRequest, makeFixture, sha256 } from './helpers.ts';

let fixture: Fixture;
let certs: TestCertificates;

beforeAll(async () => {
  [fixture, certs] = await Promise.all([makeFixture(), generateCertificates()]);
});
afterAll(async () => {
  await fixture?.cleanup();
});

function capture(): { io: { stdout(text: string): void; stderr(text: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text) => out.push(text), stderr: (text) => err.push(text) }, out, err };
}

describe('HTTPS', () => {
  let server: RunningManager;
  beforeAll(async () => {
    server = await startManager({ deviceAuth: 'off', fleetFile: fixture.fleetFile, tls: { cert: certs.cert, key: certs.key } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const postTls = async (path: string, value: unknown) => {
    const answer = await httpRequest(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encodeCbor(value), ca: certs.ca });
    expect(answer.status).toBe(200);
    return decodeCbor(answer.body);
  };

  it('serves the protocol and artifacts over TLS to a client that trusts the CA', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const list = EXCHANGES.identify.answer.parse(await postTls('/dm/v1/identify', identifyRequest('dev-1')));
    expect(list.manager.address).toBe(server.url);
    const instruction = (await postTls('/dm/v1/instruction', instructionRequest('dev-1', 'hello', '1.0.0'))) as Instruction;
    const location = (await postTls('/dm/v1/location', locationRequest('dev-1', instruction.locationToken))) as Location;
    expect(location.url.startsWith(`${server.url}/artifacts/`)).toBe(true);
    const artifact = await httpRequest(location.url, { ca: certs.ca, headers: { range: 'bytes=0-99' } });
    expect(artifact.status).toBe(206);
    expect(artifact.body.equals(Buffer.from(DEFAULT_ARTIFACTS['artifacts/hello-1.0.0.bin']!.subarray(0, 100)))).toBe(true);
    expect(sha256(DEFAULT_ARTIFACTS['artifacts/hello-1.0.0.bin']!)).toBe(instruction.digest);
  });

  it('a client without the CA refuses the certificate', async () => {
    await expect(httpRequest(`${server.url}/api/manager`)).rejects.toThrow(/certificate/i);
  });
});

describe('dm-agent server (CLI)', () => {
  it('bad arguments → exit 2 with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--fleet <fleet.json> is required/],
      [['--fleet', fixture.fleetFile, '--port', 'eighty'], /--port must be an integer in 0\.\.65535/],
      [['--fleet', fixture.fleetFile, '--port', '70000'], /--port must be an integer/],
      [['--fleet', fixture.fleetFile, '--tls-cert', 'cert.pem'], /--tls-cert and --tls-key go together/],
      [['--fleet', fixture.fleetFile, '--colour'], /unknown option --colour/],
      [['--fleet', fixture.fleetFile, 'extra'], /unexpected argument "extra"/],
      [['--fleet', '/nonexistent/fleet.json'], /cannot read: no such file/],
      [['--fleet', fixture.fleetFile, '--address', 'not a url', '--port', '0'], /address must be an http\(s\) base URL/],
      [['--fleet', fixture.fleetFile, '--max-enrolments', '-1'], /--max-enrolments must be an integer/],
      [['--fleet', fixture.fleetFile, '--max-counter-ahead-ms', 'soon'], /--max-counter-ahead-ms must be an integer/],
      [['--fleet', fixture.fleetFile, '--journal-max-bytes', '10'], /--journal-max-bytes must be an integer in 1024/],
      [['--fleet', fixture.fleetFile, '--body-timeout-ms', '0'], /--body-timeout-ms must be an integer/],
      [['--fleet', fixture.fleetFile, '--admin-token-file', '/nonexistent/token'], /cannot open: ENOENT/],
      [['--fleet', fixture.fleetFile, '--peer'], /--peer needs a value/],
      [['--fleet', fixture.fleetFile, '--peers-file', '/nonexistent/peers'], /cannot read: ENOENT/],
    ];
    for (const [args, message] of cases) {
      const { io, err } = capture();
      expect(await run(args, io), args.join(' ')).toBe(2);
      expect(err.join(''), args.join(' ')).toMatch(message);
    }
    // Through the dispatcher too.
    const { io } = capture();
    expect(await main(['server', '--port'], io)).toBe(2);
  });

  it('a fleet with problems → exit 2, naming the path', async () => {
    const broken = await makeFixture({ fleet: { ...defaultFleet(), extra: true } });
    try {
      const { io, err } = capture();
      expect(await run(['--fleet', broken.fleetFile, '--port', '0'], io)).toBe(2);
      expect(err.join('')).toMatch(/extra: unknown key/);
    } finally {
      await broken.cleanup();
    }
  });

  it('starts with the given options (TLS, clock offset, data dir), serves, and stops cleanly on abort', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-cli-'));
    try {
      await writeFile(join(dir, 'cert.pem'), certs.cert);
      await writeFile(join(dir, 'key.pem'), certs.key);
      const { io, out } = capture();
      const controller = new AbortController();
      let listening: (server: RunningManager) => void = () => {};
      const started = new Promise<RunningManager>((resolve) => (listening = resolve));
      const exit = run(
        ['--fleet', fixture.fleetFile, '--port', '0', '--clock-offset-ms', '-7200000', '--data-dir', join(dir, 'data'), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')],
        io,
        { signal: controller.signal, onListening: listening },
      );
      const server = await started;
      expect(out.join('')).toContain(`manager listening on ${server.url}`);
      const answer = await getJson(`${server.url}/api/manager`, { ca: certs.ca, token: server.manager.adminToken });
      expect(answer.json).toMatchObject({ address: server.url, clockOffsetMs: -7_200_000 });
      controller.abort();
      expect(await exit).toBe(0);
      expect(out.join('')).toContain('manager stopped');
      await expect(httpRequest(`${server.url}/api/manager`, { ca: certs.ca })).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('announces --address when given (behind a proxy, say)', async () => {
    const { io } = capture();
    const controller = new AbortController();
    let listening: (server: RunningManager) => void = () => {};
    const started = new Promise<RunningManager>((resolve) => (listening = resolve));
    const exit = run(['--fleet', fixture.fleetFile, '--port', '0', '--address', 'http://manager.example:8080', '--quiet', '--faults', '--max-counter-ahead-ms', '1000', '--no-device-auth'], io, {
      signal: controller.signal,
      onListening: listening,
    });
    const server = await started;
    const { json } = await getJson(`${server.url}/api/manager`, { token: server.manager.adminToken });
    expect(json.address).toBe('http://manager.example:8080');
    expect((await getJson(`${server.url}/api/faults`, { token: server.manager.adminToken })).status).toBe(200);
    const ahead = await httpRequest(`${server.url}/dm/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: encodeCbor({ ...identifyRequest('dev-1'), referenceCounter: server.manager.utcMs() + 60_000 }),
    });
    expect(ahead.status).toBe(400);
    controller.abort();
    expect(await exit).toBe(0);
  });
});
