/** HTTP part of the shared Net suite (see net.ts). Handlers here are portable: mock routes or a real server. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { MockHttpHandler, MockHttpRequest, MockHttpResponse } from '../../../hal/mock/net.ts';
import type { HttpResponse } from '../../../hal/types.ts';
import { createAbort } from '../../../agent/util/abort.ts';
import { equalBytes, utf8Decode, utf8Encode } from '../../../agent/util/bytes.ts';
import type { NetWorld } from './net.ts';

/** Large enough to need many chunks on every implementation; not a multiple of any chunk size. */
const FILE = pattern(600 * 1024 + 123);
const ETAG = '"file-v1"';

/** Deterministic, non-periodic bytes: an offset mistake in a resume shows as a mismatch. */
function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 0x12345678;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A small application: a Range/ETag-capable file, an echo, status codes, an unframed stream. */
const app: MockHttpHandler = async (request) => {
  const url = new URL(request.url);
  if (url.pathname === '/file') return serveFile(request);
  if (url.pathname === '/echo')
    return {
      status: 200,
      headers: { 'X-Method': request.method, 'X-Test-Header': request.headers['x-test'] ?? '', 'X-Content-Length': request.headers['content-length'] ?? '' },
      body: request.body,
    };
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) return { status: Number(status[1]), body: status[1] === '204' ? undefined : utf8Encode(`status ${status[1]}`) };
  if (url.pathname === '/broken') return { status: 200, body: broken() };
  if (url.pathname === '/hang') return new Promise<never>(() => {}); // a server that never answers
  if (url.pathname === '/stream') return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: stream(8, 1024) };
  return { status: 404, body: utf8Encode('not found') };
};

async function* stream(count: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield new Uint8Array(size).fill(i);
}

/** A server that dies mid-response: two chunks, then its stream throws. */
async function* broken(): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(1024).fill(1);
  yield new Uint8Array(1024).fill(2);
  throw new Error('server crashed');
}

function serveFile(request: MockHttpRequest): MockHttpResponse {
  const headers: Record<string, string> = { etag: ETAG, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  const range = request.headers['range'];
  const ifRange = request.headers['if-range'];
  if (range === undefined || (ifRange !== undefined && ifRange !== ETAG)) return { status: 200, headers, body: FILE };
  const match = /^bytes=(\d+)-(\d*)$/.exec(range);
  const start = match ? Number(match[1]) : NaN;
  const end = match && match[2] ? Math.min(Number(match[2]), FILE.length - 1) : FILE.length - 1;
  if (!(start < FILE.length && start <= end)) return { status: 416, headers: { ...headers, 'content-range': `bytes */${FILE.length}` } };
  return { status: 206, headers: { ...headers, 'content-range': `bytes ${start}-${end}/${FILE.length}` }, body: FILE.slice(start, end + 1) };
}

/** Reads a body, counting chunks; a failure comes back with the bytes received before it. */
async function read(response: HttpResponse): Promise<{ bytes: Uint8Array; chunks: number; error?: unknown }> {
  const parts: Uint8Array[] = [];
  let error: unknown;
  try {
    for await (const chunk of response.body) parts.push(chunk);
  } catch (caught) {
    error = caught;
  }
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return { bytes, chunks: parts.length, error };
}

const networkError = (code: string) => expect.objectContaining({ name: 'NetworkError', code });

export function describeHttpTests(world: () => NetWorld): void {
  describe('http', () => {
    let origin = '';
    beforeAll(async () => {
      origin = await world().serve(app);
    });

    it('GET: status, lower-case headers both ways, body', async () => {
      const response = await world().net.http.request({ method: 'GET', url: `${origin}/echo`, headers: { 'X-Test': 'hello' } });
      expect(response.status).toBe(200);
      expect(response.headers['x-method']).toBe('GET');
      expect(response.headers['x-test-header']).toBe('hello');
      for (const name of Object.keys(response.headers)) expect(name).toBe(name.toLowerCase());
      expect((await response.bytes()).length).toBe(0);
    });

    it('POST streams the request body and the response body', async () => {
      const sent = pattern(5 * 64 * 1024);
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let offset = 0; offset < sent.length; offset += 64 * 1024) yield sent.subarray(offset, offset + 64 * 1024);
      }
      const response = await world().net.http.request({ method: 'POST', url: `${origin}/echo`, body: body() });
      expect(response.headers['x-content-length']).toBe(''); // streamed: the length was not known up front
      const { bytes, chunks, error } = await read(response);
      expect(error).toBeUndefined();
      expect(equalBytes(bytes, sent)).toBe(true);
      expect(chunks).toBeGreaterThan(1);
    });

    it('PUT with a byte body sends its Content-Length', async () => {
      const response = await world().net.http.request({ method: 'PUT', url: `${origin}/echo`, body: utf8Encode('twelve bytes') });
      expect(response.headers['x-method']).toBe('PUT');
      expect(response.headers['x-content-length']).toBe('12');
      expect(utf8Decode(await response.bytes())).toBe('twelve bytes');
    });

    it.each([201, 204, 404, 416, 503])('passes status %i through', async (status) => {
      const response = await world().net.http.request({ method: 'GET', url: `${origin}/status/${status}` });
      expect(response.status).toBe(status);
      expect(utf8Decode(await response.bytes())).toBe(status === 204 ? '' : `status ${status}`);
    });

    it('HEAD reports length, ETag and range support without a body', async () => {
      const response = await world().net.http.request({ method: 'HEAD', url: `${origin}/file` });
      expect(response.headers).toMatchObject({ 'content-length': String(FILE.length), etag: ETAG, 'accept-ranges': 'bytes' });
      expect((await response.bytes()).length).toBe(0);
    });

    it('Range requests: 206 with Content-Range, 416 beyond the end, If-Range mismatch → 200', async () => {
      const { http } = world().net;
      const part = await http.request({ method: 'GET', url: `${origin}/file`, headers: { Range: 'bytes=1000-1999' } });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 1000-1999/${FILE.length}`);
      expect(equalBytes(await part.bytes(), FILE.slice(1000, 2000))).toBe(true);
      const beyond = await http.request({ method: 'GET', url: `${origin}/file`, headers: { Range: `bytes=${FILE.length}-` } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers['content-range']).toBe(`bytes */${FILE.length}`);
      await beyond.bytes();
      const stale = await http.request({ method: 'GET', url: `${origin}/file`, headers: { Range: 'bytes=10-', 'If-Range': '"old"' } });
      expect(stale.status).toBe(200);
      expect((await stale.bytes()).length).toBe(FILE.length);
    });

    it('resumes a large body with Range after a mid-transfer reset, reassembling the exact bytes', async () => {
      const { net, injectFault } = world();
      injectFault(origin, { kind: 'reset', afterBytes: 200_000 });
      const first = await net.http.request({ method: 'GET', url: `${origin}/file` });
      expect(first.status).toBe(200);
      const etag = first.headers['etag']!;
      const broken = await read(first);
      expect(broken.error).toEqual(networkError('reset'));
      expect(broken.bytes.length).toBeLessThan(FILE.length);
      const parts = [broken.bytes];
      let have = broken.bytes.length;
      for (let attempt = 0; attempt < 3 && have < FILE.length; attempt++) {
        const rest = await net.http.request({ method: 'GET', url: `${origin}/file`, headers: { Range: `bytes=${have}-`, 'If-Range': etag } });
        expect(rest.status).toBe(206);
        expect(rest.headers['content-range']).toBe(`bytes ${have}-${FILE.length - 1}/${FILE.length}`);
        const { bytes, error } = await read(rest);
        expect(error).toBeUndefined();
        parts.push(bytes);
        have += bytes.length;
      }
      const whole = new Uint8Array(have);
      let offset = 0;
      for (const part of parts) {
        whole.set(part, offset);
        offset += part.length;
      }
      expect(equalBytes(whole, FILE)).toBe(true);
    });

    it('detects a body shorter than its Content-Length (iterator and bytes())', async () => {
      const { net, injectFault } = world();
      injectFault(origin, { kind: 'partialBody', bytes: 1000 });
      const response = await net.http.request({ method: 'GET', url: `${origin}/file` });
      const { bytes, error } = await read(response);
      expect(error).toEqual(networkError('reset'));
      expect(bytes.length).toBeLessThanOrEqual(1000);
      injectFault(origin, { kind: 'partialBody', bytes: 1000 });
      const again = await net.http.request({ method: 'GET', url: `${origin}/file` });
      await expect(again.bytes()).rejects.toEqual(networkError('reset'));
    });

    it('a server dying mid-stream (no Content-Length) is a reset', async () => {
      const response = await world().net.http.request({ method: 'GET', url: `${origin}/broken` });
      const { bytes, error } = await read(response);
      expect(error).toEqual(networkError('reset'));
      expect(bytes.length).toBeLessThanOrEqual(2048);
    });

    it('times out when the server stalls before the headers', async () => {
      const { net, injectFault } = world();
      injectFault(origin, { kind: 'stall' });
      const started = Date.now();
      await expect(net.http.request({ method: 'GET', url: `${origin}/file`, timeoutMs: 300 })).rejects.toEqual(networkError('timeout'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it('times out when the body stalls mid-transfer', async () => {
      const { net, injectFault } = world();
      injectFault(origin, { kind: 'stall', afterBytes: 50_000 });
      const response = await net.http.request({ method: 'GET', url: `${origin}/file`, timeoutMs: 300 });
      const { bytes, error } = await read(response);
      expect(error).toEqual(networkError('timeout'));
      expect(bytes.length).toBeLessThanOrEqual(50_000);
    });

    it('a slow consumer is not a stalled server (the idle timeout only runs while waiting for the server)', async () => {
      const response = await world().net.http.request({ method: 'GET', url: `${origin}/file`, timeoutMs: 300 });
      const iterator = response.body[Symbol.asyncIterator]();
      let total = (await iterator.next()).value?.length ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 450)); // the consumer is busy longer than the timeout
      for (let result = await iterator.next(); !result.done; result = await iterator.next()) total += result.value.length;
      expect(total).toBe(FILE.length);
    });

    it('aborts: before sending, while waiting for headers, and mid-body', async () => {
      const { net } = world();
      const early = createAbort();
      early.abort('early');
      await expect(net.http.request({ method: 'GET', url: `${origin}/file`, signal: early.signal })).rejects.toEqual(networkError('aborted'));

      const waiting = createAbort();
      const pending = net.http.request({ method: 'GET', url: `${origin}/hang`, signal: waiting.signal });
      waiting.abort('user');
      await expect(pending).rejects.toEqual(networkError('aborted'));

      const late = createAbort();
      const response = await net.http.request({ method: 'GET', url: `${origin}/file`, signal: late.signal });
      const iterator = response.body[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      late.abort('user');
      await expect(iterator.next()).rejects.toEqual(networkError('aborted'));
    });

    it('cancel() stops the body and is idempotent', async () => {
      const response = await world().net.http.request({ method: 'GET', url: `${origin}/file` });
      const iterator = response.body[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      response.cancel();
      response.cancel();
      await expect(iterator.next()).rejects.toEqual(networkError('aborted'));
    });

    it('a connection refused is refused', async () => {
      await expect(world().net.http.request({ method: 'GET', url: world().refusedUrl })).rejects.toEqual(networkError('refused'));
    });

    it('bytes(maxBytes) refuses larger bodies, with and without Content-Length', async () => {
      const { http } = world().net;
      const declared = await http.request({ method: 'GET', url: `${origin}/file` });
      await expect(declared.bytes(1000)).rejects.toEqual(networkError('tooLarge'));
      const streamed = await http.request({ method: 'GET', url: `${origin}/stream` });
      expect(streamed.headers['content-length']).toBeUndefined();
      await expect(streamed.bytes(4000)).rejects.toEqual(networkError('tooLarge'));
      const exact = await http.request({ method: 'GET', url: `${origin}/stream` });
      expect((await exact.bytes(8 * 1024)).length).toBe(8 * 1024);
    });

    it('an untrusted certificate is a tls error; trusting it works', async () => {
      const { net, serveTls } = world();
      const { origin: secure, trustingNet } = await serveTls(app);
      expect(secure.startsWith('https://')).toBe(true);
      await expect(net.http.request({ method: 'GET', url: `${secure}/status/200` })).rejects.toEqual(networkError('tls'));
      const response = await trustingNet.http.request({ method: 'GET', url: `${secure}/status/200` });
      expect(response.status).toBe(200);
      expect(utf8Decode(await response.bytes())).toBe('status 200');
    });

    it('rejects invalid requests before sending anything', async () => {
      const { http } = world().net;
      await expect(http.request({ method: 'GET', url: 'ftp://example.test/' })).rejects.toMatchObject({ code: 'invalidOptions' });
      await expect(http.request({ method: 'PATCH' as 'GET', url: `${origin}/echo` })).rejects.toMatchObject({ code: 'invalidOptions' });
      await expect(http.request({ method: 'GET', url: `${origin}/echo`, timeoutMs: -1 })).rejects.toMatchObject({ code: 'invalidOptions' });
      await expect(http.request({ method: 'GET', url: `${origin}/echo`, headers: { 'x-bad': 'a\r\nb' } })).rejects.toMatchObject({ code: 'invalidOptions' });
    });
  });
}
