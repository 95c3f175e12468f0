// The whole-request deadline (`deadlineMs`) next to the idle timeout (`timeoutMs`): a server that
// trickles bytes just often enough to beat the idle timeout must still be cut off, in the headers
// and in the body; in the node HAL over loopback with real sockets, in the mock on virtual time,
// and surfaced by the agent's transport as a typed `timeout`.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockNetwork } from '../hal/mock/net.ts';
import { VirtualClock } from '../hal/mock/index.ts';
import { createNodeNet, type NodeNet } from '../hal/node/net.ts';
import { NetworkError } from '../hal/errors.ts';
import { exchange, TransportError } from '../agent/transport/http.ts';
import { object, string } from '../agent/transport/schema.ts';

/** A raw TCP server: `script` writes to each connection as it likes (so headers can trickle too). */
async function rawServer(script: (socket: net.Socket) => void): Promise<{ origin: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => script(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `text` one byte every `everyMs`, then ends (unless the client hung up first). */
function trickle(socket: net.Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    if (i >= text.length) {
      clearInterval(timer);
      socket.end();
      return;
    }
    socket.write(text[i++]!);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

describe('whole-request deadline (node HAL, loopback)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  const nodeNet = (): NodeNet => {
    const n = createNodeNet();
    cleanups.push(() => n.close());
    return n;
  };

  it('cuts off a body trickling one byte per 40 ms (idle timeout 300 ms never fires)', async () => {
    // 60 bytes at 40 ms: 2.4 s without a deadline; the idle timeout alone lets it through.
    const body = 'x'.repeat(60);
    const server = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`);
      trickle(socket, body, 40);
    });
    cleanups.push(() => server.close());
    const n = nodeNet();
    const started = Date.now();
    const response = await n.http.request({ method: 'GET', url: `${server.origin}/`, timeoutMs: 300, deadlineMs: 600 });
    const error = await response.bytes().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: 'timeout', message: expect.stringContaining('deadline of 600 ms') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('cuts off response headers trickling in (about 3 s of headers, idle timeout 10 s)', async () => {
    const head = `HTTP/1.1 200 OK\r\nx-slow: ${'y'.repeat(40)}\r\ncontent-length: 0\r\n\r\n`;
    const server = await rawServer((socket) => trickle(socket, head, 40));
    cleanups.push(() => server.close());
    const n = nodeNet();
    const started = Date.now();
    await expect(n.http.request({ method: 'GET', url: `${server.origin}/`, timeoutMs: 10_000, deadlineMs: 500 })).rejects.toMatchObject({
      name: 'NetworkError',
      code: 'timeout',
      message: expect.stringContaining('deadline'),
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a fast exchange under its deadline completes, and the deadline timer is gone after it', async () => {
    const server = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
    cleanups.push(() => server.close());
    const n = nodeNet();
    const response = await n.http.request({ method: 'GET', url: `${server.origin}/`, timeoutMs: 300, deadlineMs: 400 });
    expect(new TextDecoder().decode(await response.bytes())).toBe('ok');
  });

  it('validates deadlineMs before sending anything', async () => {
    let connections = 0;
    const server = await rawServer(() => connections++);
    cleanups.push(() => server.close());
    const n = nodeNet();
    for (const deadlineMs of [0, -1, Number.NaN, Infinity, '5' as unknown as number])
      await expect(n.http.request({ method: 'GET', url: `${server.origin}/`, timeoutMs: 500, deadlineMs })).rejects.toMatchObject({ code: 'invalidOptions' });
    expect(connections).toBe(0);
  });

  it('the agent transport surfaces it as a TransportError with code timeout (retryable)', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/cbor\r\ncontent-length: 60\r\nconnection: close\r\n\r\n');
      trickle(socket, 'z'.repeat(60), 40);
    });
    cleanups.push(() => server.close());
    const n = nodeNet();
    const error = await exchange(n.http, `${server.origin}/dm/v1/identify`, { hello: 1 }, object({ a: string({ max: 5 }) }), {
      maxAnswerBytes: 1024,
      timeoutMs: 300,
      deadlineMs: 500,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });
});

describe('whole-request deadline (mock HAL, virtual clock)', () => {
  /** A handler whose body yields one byte per `everyMs` of virtual time. */
  const trickling = (clock: VirtualClock, bytes: number, everyMs: number) => async () => ({
    status: 200,
    headers: { 'content-length': String(bytes) },
    body: (async function* () {
      for (let i = 0; i < bytes; i++) {
        await new Promise<void>((resolve) => clock.setTimer(resolve, everyMs));
        yield new Uint8Array([0x61]);
      }
    })(),
  });

  it('fails a trickling body at exactly the deadline, in virtual time', async () => {
    const clock = new VirtualClock();
    const network = createMockNetwork({ clock: clock.scope().clock });
    network.route('http://slow.test', trickling(clock, 100, 100));
    const request = network.net.http.request({ method: 'GET', url: 'http://slow.test/', timeoutMs: 500, deadlineMs: 2_000 });
    await clock.advance(0);
    const response = await request;
    const outcome = response.bytes().then(
      () => ({ ok: true as const, at: clock.now }),
      (error: unknown) => ({ ok: false as const, error, at: clock.now }),
    );
    await clock.advance(10_000);
    const result = await outcome;
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ error: { name: 'NetworkError', code: 'timeout' } });
    expect(result.at).toBe(2_000);
    expect(network.requests.at(-1)?.error).toBe('timeout');
  });

  it('counts time waiting for headers too, and leaves no timer behind when the exchange ends in time', async () => {
    const clock = new VirtualClock();
    const network = createMockNetwork({ clock: clock.scope().clock, latencyMs: 0 });
    network.route('http://slow.test', () => new Promise((resolve) => clock.setTimer(() => resolve({ status: 200, body: new Uint8Array(1) }), 400)));
    // Headers after 400 ms, idle timeout 1000: only the 300 ms deadline stops it.
    const late = network.net.http.request({ method: 'GET', url: 'http://slow.test/', timeoutMs: 1_000, deadlineMs: 300 }).catch((error: unknown) => error);
    await clock.advance(1_000);
    expect(await late).toMatchObject({ name: 'NetworkError', code: 'timeout' });

    const timersBefore = clock.pendingTimers;
    const fine = network.net.http.request({ method: 'GET', url: 'http://slow.test/', timeoutMs: 1_000, deadlineMs: 5_000 });
    await clock.advance(400);
    expect((await (await fine).bytes()).length).toBe(1);
    expect(clock.pendingTimers).toBe(timersBefore);
  });
});
