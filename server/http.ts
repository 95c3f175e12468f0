/**
 * The manager behind a real node:http(s) listener. Bodies stream both ways: the request body is
 * read up to the manager's cap (a bigger one gets a 413 without being buffered) and within a
 * deadline (`bodyTimeoutMs`: a client trickling its body gets a 408 and the connection closed), the answer is
 * written chunk by chunk waiting for `drain`, so a slow client holds one chunk, not an artifact.
 * An answer stream that throws (the `reset` fault, a failing disk) destroys the socket after the
 * bytes written so far have left: the client sees a connection cut short of its Content-Length.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Fleet, readFleetFile } from './fleet.ts';
import { type Manager, type ManagerOptions, createManager, transportErrorAnswer } from './manager.ts';
import type { ManagerRequest, ManagerResponse } from './wire.ts';

export interface ListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** PEM certificate chain and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  /** The whole request body must arrive within this many ms of the headers (default 30 s); else 408. */
  bodyTimeoutMs?: number;
}

export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

export interface RunningManager {
  /** Where the server listens, e.g. `http://127.0.0.1:40123` (loopback for a wildcard host). */
  url: string;
  port: number;
  manager: Manager;
  /** Stops listening and cuts open connections (streams included). Idempotent. */
  close(): Promise<void>;
}

/** Manager options whose `address` may be left out: it is then the URL the server listens at. */
export type ManagerSetup = Omit<ManagerOptions, 'address'> & { address?: string };

/**
 * What a listener serves: the reference manager, or any other reference service with the same
 * request/answer shape (the update service, `server/updates/`).
 */
export interface HttpHandler {
  readonly maxBodyBytes: number;
  handle(request: ManagerRequest): Promise<ManagerResponse>;
  /** How a refusal made before `handle` (413 body too large, 408 body timeout) is answered (default: the manager's format). */
  transportError?(url: string, status: number, code: string, message: string): ManagerResponse;
}

export interface Listener {
  url: string;
  port: number;
  /** Stops listening and cuts open connections (streams included). Idempotent. */
  close(): Promise<void>;
}

/** A node:http(s) listener for `handler()`; until it returns one, requests get a 503. */
export async function listenHttp(handler: () => HttpHandler | undefined, listen: ListenOptions = {}): Promise<Listener> {
  const host = listen.host ?? '127.0.0.1';
  const port = listen.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer 0..65535, got ${port}`);
  const bodyTimeoutMs = listen.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  if (!Number.isSafeInteger(bodyTimeoutMs) || bodyTimeoutMs < 1) throw new RangeError(`bodyTimeoutMs must be a positive integer, got ${bodyTimeoutMs}`);
  const listener = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const current = handler();
    if (!current) {
      response.writeHead(503, { 'retry-after': '1' }).end();
      return;
    }
    void exchange(current, request, response, bodyTimeoutMs).catch(() => response.destroy());
  };
  const server = listen.tls ? https.createServer({ cert: listen.tls.cert, key: listen.tls.key }, listener) : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const url = `${listen.tls ? 'https' : 'http'}://${urlHost(host)}:${bound}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive and streaming connections would hold close() open.
      server.closeAllConnections();
    }));
  return { url, port: bound, close };
}

export async function startServer(source: Manager | ManagerSetup, listen: ListenOptions = {}): Promise<RunningManager> {
  let manager: Manager | undefined = 'handle' in source ? source : undefined;
  const { url, port, close } = await listenHttp(() => manager, listen);
  if (!manager) {
    const setup = source as ManagerSetup;
    try {
      // Created after listen, so that a port-0 manager announces the address it is really at.
      manager = createManager({ ...setup, address: setup.address ?? url });
    } catch (error) {
      await close();
      throw error;
    }
  }
  return { url, port, manager, close };
}

export interface StartManagerOptions extends ManagerSetup, ListenOptions {}

/** `startServer` that also reads the fleet: give `fleetFile` (a path) or `fleet` (from `loadFleet`). */
export async function startManager(options: Omit<StartManagerOptions, 'fleet'> & ({ fleet: Fleet; fleetFile?: undefined } | { fleet?: undefined; fleetFile: string })): Promise<RunningManager> {
  const { host, port, tls, bodyTimeoutMs, fleetFile, ...rest } = options;
  const fleet = options.fleet ?? (await readFleetFile(fleetFile!));
  const listen: ListenOptions = {};
  if (host !== undefined) listen.host = host;
  if (port !== undefined) listen.port = port;
  if (tls !== undefined) listen.tls = tls;
  if (bodyTimeoutMs !== undefined) listen.bodyTimeoutMs = bodyTimeoutMs;
  return startServer({ ...rest, fleet }, listen);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function exchange(manager: HttpHandler, request: http.IncomingMessage, response: http.ServerResponse, bodyTimeoutMs: number): Promise<void> {
  const url = request.url ?? '/';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const body = await readBody(request, manager.maxBodyBytes, bodyTimeoutMs);
  let answer: ManagerResponse;
  if (body === 'tooLarge' || body === 'timeout') {
    // Don't read the rest of the body; close after answering instead.
    const refuse = manager.transportError ?? transportErrorAnswer;
    answer =
      body === 'tooLarge'
        ? refuse(url, 413, 'tooLarge', `request body exceeds ${manager.maxBodyBytes} bytes`)
        : refuse(url, 408, 'bodyTimeout', `request body not received within ${bodyTimeoutMs} ms`);
    answer.headers.connection = 'close';
  } else {
    const message: ManagerRequest = { method: request.method ?? 'GET', url, headers, body };
    answer = await manager.handle(message);
  }
  await send(request, response, answer);
}

/** The whole body; `tooLarge` once it passes `maxBytes` (declared or counted); `timeout` if it is not complete within `timeoutMs`. */
async function readBody(request: http.IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Uint8Array | 'tooLarge' | 'timeout'> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) return 'tooLarge';
  const parts: Buffer[] = [];
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const iterator = request[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), deadline]);
      if (step === 'timeout') return 'timeout';
      if (step.done) break;
      total += (step.value as Buffer).length;
      if (total > maxBytes) return 'tooLarge';
      parts.push(step.value as Buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  const joined = Buffer.concat(parts);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}

async function send(request: http.IncomingMessage, response: http.ServerResponse, answer: ManagerResponse): Promise<void> {
  const { body } = answer;
  const headers = { ...answer.headers };
  if (body instanceof Uint8Array) {
    // For HEAD too: the length describes the body a GET would get.
    if (headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    response.writeHead(answer.status, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
    return;
  }
  response.writeHead(answer.status, headers);
  const closed = new Promise<void>((resolve) => response.once('close', resolve));
  try {
    for await (const chunk of body) {
      // The client went away: leaving the loop closes the source (the file stream).
      if (response.destroyed) return;
      if (!response.write(chunk)) await Promise.race([new Promise((resolve) => response.once('drain', resolve)), closed]);
    }
    response.end();
  } catch {
    await cut(response);
  }
}

/** Destroys the socket once what was written so far has reached the kernel (the client gets exactly those bytes). */
async function cut(response: http.ServerResponse): Promise<void> {
  const socket = response.socket;
  if (!socket || socket.destroyed) {
    response.destroy();
    return;
  }
  response.flushHeaders();
  // An empty socket write completes after everything queued before it.
  await new Promise<void>((resolve) => socket.write(new Uint8Array(0), () => resolve()));
  socket.destroy();
}
