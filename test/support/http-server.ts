/**
 * Mounts a framework-agnostic handler (the `MockHttpHandler` shape) behind a real node:http(s)
 * listener on 127.0.0.1, with server-side faults done for real: the socket is destroyed after N
 * body bytes, the server goes silent, or closes short of its Content-Length.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MockHttpHandler, MockHttpResponse } from '../../hal/mock/net.ts';
import type { HttpMethod } from '../../hal/types.ts';

export type ServerFault =
  /** Destroy the socket after sending this many body bytes. */
  | { kind: 'reset'; afterBytes: number }
  /** Send this many body bytes of a longer Content-Length, then close cleanly. */
  | { kind: 'partialBody'; bytes: number }
  /** Go silent: before the headers, or after `afterBytes` body bytes. */
  | { kind: 'stall'; afterBytes?: number };

export interface TestHttpServer {
  /** http://127.0.0.1:<port> (https:// with `tls`) */
  origin: string;
  /** The next request meets `fault`. */
  injectFault(fault: ServerFault): void;
  close(): Promise<void>;
}

export async function startHttpServer(handler: MockHttpHandler, options: { tls?: { key: string; cert: string } } = {}): Promise<TestHttpServer> {
  const faults: ServerFault[] = [];
  const sockets = new Set<Socket>();
  const listener = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    void serve(handler, request, response, faults.shift()).catch(() => response.destroy());
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener) : http.createServer(listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    origin: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    injectFault: (fault) => faults.push(fault),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Stalled and keep-alive connections would hold close() forever.
        for (const socket of sockets) socket.destroy();
      })),
  };
}

async function serve(handler: MockHttpHandler, request: http.IncomingMessage, response: http.ServerResponse, fault: ServerFault | undefined): Promise<void> {
  const parts: Buffer[] = [];
  for await (const chunk of request) parts.push(chunk as Buffer);
  const body = Buffer.concat(parts);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  if (fault?.kind === 'stall' && fault.afterBytes === undefined) return; // never answer
  const answer: MockHttpResponse = await handler({
    method: request.method as HttpMethod,
    url: `http://${request.headers.host ?? 'localhost'}${request.url ?? '/'}`,
    headers,
    body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
  }).catch((): MockHttpResponse => ({ status: 500 }));

  const raw = answer.body ?? new Uint8Array(0);
  const responseHeaders = { ...answer.headers };
  if (raw instanceof Uint8Array && !Object.keys(responseHeaders).some((name) => name.toLowerCase() === 'content-length'))
    responseHeaders['content-length'] = String(raw.length);
  response.writeHead(answer.status, responseHeaders);
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const limit = fault === undefined ? Infinity : fault.kind === 'partialBody' ? fault.bytes : (fault.afterBytes ?? 0);
  let sent = 0;
  const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = raw instanceof Uint8Array ? [raw] : raw;
  for await (const chunk of chunks) {
    const piece = chunk.subarray(0, Math.max(0, limit - sent));
    sent += piece.length;
    // Wait for each write to reach the socket: a handler stream that throws next ("server crash")
    // must cut the connection after these bytes, not before Node's corked writes go out.
    if (piece.length > 0) await new Promise<void>((resolve, reject) => response.write(piece, (error) => (error ? reject(error) : resolve())));
    if (sent >= limit) break;
  }
  if (!fault) {
    response.end();
    return;
  }
  response.flushHeaders();
  const socket = response.socket;
  if (!socket) return;
  // An empty socket write completes after everything queued before it: the bytes are in the kernel.
  await new Promise<void>((resolve) => socket.write(new Uint8Array(0), () => resolve()));
  if (fault.kind === 'stall') return;
  if (fault.kind === 'reset') socket.resetAndDestroy();
  else socket.end();
}

/** A throw-away self-signed certificate for 127.0.0.1 (openssl is a system dependency of the tests). */
export async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
