import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instruction, type Location, errorAnswerSchema } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { NetworkError } from '../../hal/errors.ts';
import { chooseRange } from '../../server/artifacts.ts';
import { loadFleet, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { type Manager, createManager } from '../../server/manager.ts';
import { ADMIN, ADMIN_TOKEN, DEFAULT_ARTIFACTS, type Fixture, getJson, httpRequest, instructionRequest, locationRequest, makeFixture, postCbor, sha256 } from './helpers.ts';

const HELLO = DEFAULT_ARTIFACTS['artifacts/hello-1.0.0.bin']!;
const TTL = 60_000;

let fixture: Fixture;
let server: RunningManager;
/** Added to the host clock: moves the manager's UTC to test expiry without waiting. */
let skewMs = 0;

beforeAll(async () => {
  fixture = await makeFixture();
  server = await startServer({ deviceAuth: 'off', fleet: await readFleetFile(fixture.fleetFile), now: () => Date.now() + skewMs, locationTtlMs: TTL, adminToken: ADMIN_TOKEN, faults: true });
});
afterAll(async () => {
  await server?.close();
  await fixture?.cleanup();
});

/** A fresh signed URL for dev-1's package, the way an agent gets it. */
async function locate(name = 'hello', version = '1.0.0', base = server.url): Promise<{ url: string; digest: string }> {
  const instruction = (await postCbor(base, '/dm/v1/instruction', instructionRequest('dev-1', name, version))).answer as Instruction;
  const location = (await postCbor(base, '/dm/v1/location', locationRequest('dev-1', instruction.locationToken))).answer as Location;
  return { url: location.url, digest: instruction.digest };
}

describe('artifact ranges', () => {
  it('full GET: 200 with Accept-Ranges, strong ETag, Content-Length and the exact bytes', async () => {
    const { url, digest } = await locate();
    const answer = await httpRequest(url);
    expect(answer.status).toBe(200);
    expect(answer.headers['accept-ranges']).toBe('bytes');
    expect(answer.headers.etag).toBe(`"sha256-${digest}"`);
    expect(answer.headers['content-length']).toBe(String(HELLO.length));
    expect(Buffer.compare(answer.body, HELLO)).toBe(0);
  });

  it.each([
    ['bytes=100-199', 100, 199],
    ['bytes=9990-', 9990, 9999],
    ['bytes=-50', 9950, 9999],
    ['bytes=-20000', 0, 9999],
    ['bytes=9000-20000', 9000, 9999],
    ['bytes=0-0', 0, 0],
  ])('%s → 206 with the exact slice', async (range, start, end) => {
    const { url } = await locate();
    const answer = await httpRequest(url, { headers: { range } });
    expect(answer.status).toBe(206);
    expect(answer.headers['content-range']).toBe(`bytes ${start}-${end}/${HELLO.length}`);
    expect(answer.headers['content-length']).toBe(String(end - start + 1));
    expect(Buffer.compare(answer.body, HELLO.subarray(start, end + 1))).toBe(0);
  });

  it('unsatisfiable ranges → 416 with Content-Range: bytes */size', async () => {
    const { url } = await locate();
    for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=-0']) {
      const answer = await httpRequest(url, { headers: { range } });
      expect(answer.status, range).toBe(416);
      expect(answer.headers['content-range']).toBe(`bytes */${HELLO.length}`);
      expect(answer.body.length).toBe(0);
    }
  });

  it('invalid or multiple ranges are ignored: 200 with everything', async () => {
    const { url } = await locate();
    for (const range of ['bytes=5-1', 'bytes=0-1,5-6', 'items=0-1', 'bytes=abc']) {
      const answer = await httpRequest(url, { headers: { range } });
      expect(answer.status, range).toBe(200);
      expect(answer.body.length).toBe(HELLO.length);
    }
  });

  it('If-Range: the current ETag keeps the range, another one (or a date) gets the full 200', async () => {
    const { url, digest } = await locate();
    const same = await httpRequest(url, { headers: { range: 'bytes=10-19', 'if-range': `"sha256-${digest}"` } });
    expect(same.status).toBe(206);
    expect(Buffer.compare(same.body, HELLO.subarray(10, 20))).toBe(0);
    for (const ifRange of [`"sha256-${'0'.repeat(64)}"`, `W/"sha256-${digest}"`, 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const other = await httpRequest(url, { headers: { range: 'bytes=10-19', 'if-range': ifRange } });
      expect(other.status, ifRange).toBe(200);
      expect(Buffer.compare(other.body, HELLO)).toBe(0);
    }
  });

  it('HEAD: the same headers, no body', async () => {
    const { url } = await locate();
    const head = await httpRequest(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(HELLO.length));
    expect(head.body.length).toBe(0);
    const ranged = await httpRequest(url, { method: 'HEAD', headers: { range: 'bytes=-10' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 9990-9999/${HELLO.length}`);
  });

  it('an empty artifact: 200 with no bytes, and any range is unsatisfiable', async () => {
    // dev-1 is not assigned `extra`; give it to dev-1 for this test.
    await getJson(`${server.url}/api/devices/dev-1/packages`, { method: 'PUT', body: [{ name: 'extra', version: '1.0.0' }] });
    try {
      const { url, digest } = await locate('extra', '1.0.0');
      expect(digest).toBe(sha256(new Uint8Array(0)));
      const answer = await httpRequest(url);
      expect([answer.status, answer.headers['content-length'], answer.body.length]).toEqual([200, '0', 0]);
      expect((await httpRequest(url, { headers: { range: 'bytes=0-' } })).status).toBe(416);
    } finally {
      await getJson(`${server.url}/api/devices/dev-1/packages`, { method: 'PUT', body: [] });
    }
  });

  it('chooseRange edge cases', () => {
    expect(chooseRange(undefined, 10)).toEqual({ kind: 'full' });
    expect(chooseRange('bytes = 2 - 3', 10)).toEqual({ kind: 'partial', start: 2, end: 3 });
    expect(chooseRange('bytes=-', 10)).toEqual({ kind: 'full' });
    expect(chooseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(chooseRange('bytes=99999999999999999999-', 10)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('signed locations', () => {
  it('a URL past its expiry (manager UTC) → 403 expired; a fresh location works again', async () => {
    const { url } = await locate();
    skewMs = TTL + 1_000;
    try {
      const answer = await httpRequest(url);
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body.toString()).error.code).toBe('expired');
      expect((await httpRequest((await locate()).url)).status).toBe(200);
    } finally {
      skewMs = 0;
    }
  });

  it('a tampered, missing or transplanted signature → 403 badSignature', async () => {
    const { url } = await locate();
    const parsed = new URL(url);
    const sig = parsed.searchParams.get('sig')!;
    const tamper = (mutate: (u: URL) => void): string => {
      const copy = new URL(url);
      mutate(copy);
      return copy.toString();
    };
    const variants = [
      tamper((u) => u.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`)),
      tamper((u) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 1))),
      tamper((u) => u.searchParams.delete('sig')),
      tamper((u) => (u.pathname = '/artifacts/hello/2.0.0')),
    ];
    for (const variant of variants) {
      const answer = await httpRequest(variant);
      expect(answer.status, variant).toBe(403);
      expect(JSON.parse(answer.body.toString()).error.code).toBe('badSignature');
    }
  });
});

describe('faults', () => {
  it('corrupt: different bytes, same length, the announced digest unchanged; bounded by times', async () => {
    const added = await getJson(`${server.url}/api/faults`, { method: 'POST', body: { kind: 'corrupt', artifact: 'hello@1.0.0' } });
    expect(added.status).toBe(201);
    const { url, digest } = await locate();
    expect(digest).toBe(sha256(HELLO));
    const bad = await httpRequest(url);
    expect(bad.status).toBe(200);
    expect(bad.body.length).toBe(HELLO.length);
    expect(sha256(bad.body)).not.toBe(digest);
    expect(bad.body.findIndex((byte, i) => byte !== HELLO[i])).toBe(0);
    expect(bad.body.subarray(1).equals(HELLO.subarray(1))).toBe(true);
    // Used up: the next transfer is clean.
    expect(sha256((await httpRequest(url)).body)).toBe(digest);
  });

  it('reset: the client gets exactly afterBytes then an error, and resumes with Range', async () => {
    await getJson(`${server.url}/api/faults`, { method: 'POST', body: { kind: 'reset', artifact: 'hello@1.0.0', afterBytes: 4096 } });
    const { url } = await locate();
    expect((await httpRequest(url, { method: 'HEAD' })).status).toBe(200);
    const received: Buffer[] = [];
    await expect(httpRequest(url, { onChunk: (chunk) => received.push(chunk) })).rejects.toThrow();
    const head = Buffer.concat(received);
    expect(head.length).toBe(4096);
    const rest = await httpRequest(url, { headers: { range: `bytes=${head.length}-` } });
    expect(rest.status).toBe(206);
    expect(Buffer.concat([head, rest.body]).equals(Buffer.from(HELLO))).toBe(true);
  });

  it('reset in the in-process handler: the body stream ends with a NetworkError reset', async () => {
    const manager: Manager = createManager({ deviceAuth: 'off', fleet: await readFleetFile(fixture.fleetFile), address: 'http://manager.test', adminToken: ADMIN_TOKEN, faults: true });
    const call = async (method: string, url: string, body?: unknown) => {
      const json = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
      return manager.handle({ method, url, headers: json ? { 'content-type': 'application/json', ...ADMIN } : { ...ADMIN }, body: json ?? new Uint8Array(0) });
    };
    expect((await call('POST', '/api/faults', { kind: 'reset', artifact: 'hello@1.0.0', afterBytes: 1000 })).status).toBe(201);
    const cbor = (path: string, value: unknown) => manager.handle({ method: 'POST', url: path, headers: { 'content-type': 'application/cbor' }, body: encodeCbor(value) });
    const instruction = decodeCbor((await cbor('/dm/v1/instruction', instructionRequest('dev-1', 'hello', '1.0.0'))).body as Uint8Array) as Instruction;
    const location = decodeCbor((await cbor('/dm/v1/location', locationRequest('dev-1', instruction.locationToken))).body as Uint8Array) as Location;
    const answer = await call('GET', location.url);
    expect(answer.status).toBe(200);
    let got = 0;
    let failure: unknown;
    try {
      for await (const chunk of answer.body as AsyncIterable<Uint8Array>) got += chunk.length;
    } catch (error) {
      failure = error;
    }
    expect(got).toBe(1000);
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as NetworkError).code).toBe('reset');
  });

  it('status: the path answers the injected code `times` times, in its family format', async () => {
    await getJson(`${server.url}/api/faults`, { method: 'POST', body: { kind: 'status', path: '/dm/v1/instruction', code: 503, times: 2 } });
    expect((await getJson(`${server.url}/api/faults`)).json).toEqual([expect.objectContaining({ remaining: 2 })]);
    for (let i = 0; i < 2; i++) {
      const refused = await postCbor(server.url, '/dm/v1/instruction', instructionRequest('dev-1', 'hello', '1.0.0'));
      expect(refused.status).toBe(503);
      expect(errorAnswerSchema.parse(refused.answer).code).toBe('fault');
    }
    expect((await postCbor(server.url, '/dm/v1/instruction', instructionRequest('dev-1', 'hello', '1.0.0'))).status).toBe(200);
    expect((await getJson(`${server.url}/api/faults`)).json).toEqual([]);
  });

  it('faults are validated, listed and cleared', async () => {
    const post = (body: unknown) => getJson(`${server.url}/api/faults`, { method: 'POST', body });
    expect((await post({ kind: 'corrupt', artifact: 'hello@9' })).status).toBe(400);
    expect((await post({ kind: 'explode' })).status).toBe(400);
    expect((await post({ kind: 'reset', artifact: 'hello@1.0.0', afterBytes: 1, times: 0 })).status).toBe(400);
    expect((await post({ kind: 'status', path: '/x', code: 200 })).status).toBe(400);
    expect((await post({ kind: 'status', path: '/x', code: 500, times: 5 })).status).toBe(201);
    // A status fault on the faults API itself can never lock a test out.
    expect((await post({ kind: 'status', path: '/api/faults', code: 500, times: 5 })).status).toBe(201);
    expect((await getJson(`${server.url}/api/faults`)).json).toHaveLength(2);
    expect((await getJson(`${server.url}/api/faults`, { method: 'DELETE' })).json).toEqual({ cleared: 2 });
    expect((await httpRequest(`${server.url}/x`)).status).toBe(404);
  });
});

describe('a large artifact', () => {
  const SIZE = 64 * 1024 * 1024;
  let big: Fixture;
  let bigServer: RunningManager;
  let expected: string;

  beforeAll(async () => {
    big = await makeFixture({ fleet: { packages: {}, groups: {}, devices: {} }, files: {} });
    const hash = createHash('sha256');
    const file = await open(join(big.dir, 'big.bin'), 'w');
    for (let written = 0; written < SIZE; written += 1 << 20) {
      const block = randomBytes(1 << 20);
      hash.update(block);
      await file.write(block);
    }
    await file.close();
    expected = hash.digest('hex');
    const fleet = await loadFleet(
      {
        packages: { big: { '1': { file: 'big.bin', postInstall: { command: 'true', args: [], timeoutMs: 1000 } } } },
        groups: { all: { packages: [{ name: 'big', version: '1' }] } },
        devices: { 'dev-1': { groups: ['all'] } },
      },
      big.dir,
    );
    bigServer = await startServer({ deviceAuth: 'off', fleet });
  });
  afterAll(async () => {
    await bigServer?.close();
    await big?.cleanup();
  });

  it('streams 64 MiB byte-exact without buffering it (RSS growth stays well under the size)', async () => {
    const { url, digest } = await locate('big', '1', bigServer.url);
    expect(digest).toBe(expected);
    const hash = createHash('sha256');
    const before = process.memoryUsage().rss;
    let peak = before;
    let bytes = 0;
    let chunks = 0;
    const answer = await httpRequest(url, {
      onChunk: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (++chunks % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    expect(answer.status).toBe(200);
    expect(bytes).toBe(SIZE);
    expect(hash.digest('hex')).toBe(expected);
    // Loose on purpose (GC timing): buffering the file would add at least its 64 MiB.
    expect(peak - before).toBeLessThan(40 * 1024 * 1024);
  });
});
