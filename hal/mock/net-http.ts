import { concatBytes } from '../../agent/util/bytes.ts';
import { InvalidOptionsError, NetworkError } from '../errors.ts';
import type { HttpClient, HttpMethod, HttpRequest, HttpResponse } from '../types.ts';
import { collectBody, singleUseBody, validateRequestOptions } from '../shared/http-body.ts';
import type { FaultQueue, MockFault, MockFaultKind } from './net-faults.ts';
import { Exchange, never, sleep, type Timers } from './net-wait.ts';

/** What a route handler sees: header names lower-case, the request body read completely. */
export interface MockHttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface MockHttpResponse {
  status: number;
  headers?: Record<string, string>;
  /** A Uint8Array gets a Content-Length automatically; an iterable is streamed as given. */
  body?: Uint8Array | AsyncIterable<Uint8Array>;
}

/**
 * A server without sockets. Framework-agnostic on purpose, so the reference server's core can be
 * mounted in-process as well as behind a real `node:http` listener.
 */
export type MockHttpHandler = (request: MockHttpRequest) => Promise<MockHttpResponse>;

/** One request as the network saw it, for assertions. Updated while the body streams. */
export interface MockRequestRecord {
  /** Name of the attached net (device) that sent it. */
  client: string;
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  requestBytes: number;
  /** Undefined when no response headers arrived (refused, timeout, …). */
  status?: number;
  /** Response body bytes delivered to the client so far. */
  bytes: number;
  fault?: MockFaultKind;
  /** How the exchange failed, if it did. */
  error?: string;
  /** A handler that threw: the client saw a 500. */
  handlerError?: unknown;
}

/** What the HTTP client needs from the network it is attached to. */
export interface MockHttpHost {
  readonly timers: Timers;
  readonly chunkSize: number;
  readonly latencyMs: number;
  readonly faults: FaultQueue;
  readonly requests: MockRequestRecord[];
  /** How many of the latest records `requests` keeps. */
  readonly requestLog: number;
  handlerFor(origin: string): MockHttpHandler | undefined;
}

/** The attached net a client belongs to: closing it ends its exchanges and connections. */
export interface MockNetSession {
  readonly name: string;
  /** Throws `ClosedError` once the net is closed. */
  ensureOpen(): void;
  /** An HTTP exchange to fail when the net closes; returns the untrack function. */
  track(exchange: Exchange): () => void;
  /** A connection to close when the net closes; returns the release function. */
  hold(resource: { close(): void }): () => void;
}

const URL_PATTERN = /^(https?):\/\/([^/?#@\s]+)([/?#]\S*)?$/i;

/** `scheme://host[:port]` in lower case, default ports dropped, or undefined if not an http(s) URL. */
export function originOf(url: string): { origin: string; host: string } | undefined {
  const match = URL_PATTERN.exec(url);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  let authority = match[2]!.toLowerCase();
  if ((scheme === 'http' && authority.endsWith(':80')) || (scheme === 'https' && authority.endsWith(':443')))
    authority = authority.slice(0, authority.lastIndexOf(':'));
  const host = authority.startsWith('[') ? authority.slice(1, authority.indexOf(']')) : authority.replace(/:\d+$/, '');
  return { origin: `${scheme}://${authority}`, host };
}

export function createMockHttpClient(host: MockHttpHost, session: MockNetSession): HttpClient {
  return {
    async request(request: HttpRequest): Promise<HttpResponse> {
      session.ensureOpen();
      validateRequest(request);
      const { origin, host: hostname } = originOf(request.url)!;
      const headers = lowerCaseHeaders(request.headers ?? {});
      // What goes over the wire: a byte body carries its length, like node:http sends it.
      if (request.body instanceof Uint8Array && headers['content-length'] === undefined) headers['content-length'] = String(request.body.length);
      const record: MockRequestRecord = { client: session.name, method: request.method, url: request.url, headers, requestBytes: 0, bytes: 0 };
      if (host.requestLog > 0) {
        host.requests.push(record);
        if (host.requests.length > host.requestLog) host.requests.splice(0, host.requests.length - host.requestLog);
      }
      const picked = host.faults.pick({ client: session.name, method: request.method, url: request.url, headers });
      const fault = picked.fault;
      if (fault) record.fault = fault.kind;
      const exchange = new Exchange(host.timers, request.timeoutMs, request.signal, request.deadlineMs);
      const untrack = session.track(exchange);
      exchange.onEnd = untrack;

      // Everything up to the response headers is one "no progress" interval for the idle timeout.
      const serve = async (): Promise<MockHttpResponse> => {
        const latency = host.latencyMs + picked.latencyMs;
        if (latency > 0) await sleep(host.timers, latency);
        if (fault?.kind === 'dnsFail') throw new NetworkError('notFound', `${hostname}: name does not resolve`);
        if (fault?.kind === 'refuse') throw new NetworkError('refused', `${origin}: connection refused`);
        if (fault?.kind === 'tls') throw new NetworkError('tls', `${origin}: certificate not trusted`);
        const handler = host.handlerFor(origin);
        if (!handler) throw new NetworkError('refused', `${origin}: connection refused (no route)`);
        const body = await readRequestBody(request.body);
        record.requestBytes = body.length;
        if (fault?.kind === 'stall' && fault.afterBytes === undefined) return never();
        if (fault?.kind === 'status') return { status: fault.status, headers: fault.headers ?? {}, body: fault.body ?? new Uint8Array(0) };
        try {
          return await handler({ method: request.method, url: request.url, headers: { ...headers }, body });
        } catch (error) {
          // A real server framework answers 500; keep the error for the test to inspect.
          record.handlerError = error;
          return { status: 500, headers: { 'content-type': 'text/plain' }, body: new Uint8Array(0) };
        }
      };

      let answer: MockHttpResponse;
      try {
        answer = await exchange.wait(serve(), 'waiting for response headers');
      } catch (error) {
        if (error instanceof NetworkError) exchange.fail(error);
        record.error = errorCode(error);
        exchange.end();
        throw error;
      }
      return new MockResponse(answer, request.method, exchange, record, host.chunkSize, fault);
    },
  };
}

/** The client's view of a response: body streamed in chunks, faults applied on the way. */
class MockResponse implements HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: AsyncIterable<Uint8Array>;
  readonly #exchange: Exchange;
  readonly #record: MockRequestRecord;
  readonly #source: AsyncIterator<Uint8Array>;
  readonly #contentLength: number | undefined;
  #pending: Uint8Array | undefined;
  #delivered = 0;
  #done = false;
  /** Where a body fault strikes, and what happens there. */
  #limit: number | undefined;
  #limitAction: 'reset' | 'truncate' | 'stall' | undefined;

  constructor(answer: MockHttpResponse, method: HttpMethod, exchange: Exchange, record: MockRequestRecord, chunkSize: number, fault: MockFault | undefined) {
    this.status = answer.status;
    this.headers = lowerCaseHeaders(answer.headers ?? {});
    const raw = answer.body ?? new Uint8Array(0);
    if (raw instanceof Uint8Array && this.headers['content-length'] === undefined) this.headers['content-length'] = String(raw.length);
    const bodiless = method === 'HEAD' || answer.status === 204 || answer.status === 304;
    const declared = this.headers['content-length'];
    this.#contentLength = !bodiless && declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    this.#source = chunks(bodiless ? new Uint8Array(0) : raw, chunkSize);
    this.#exchange = exchange;
    this.#record = record;
    record.status = answer.status;
    if (fault?.kind === 'reset') [this.#limit, this.#limitAction] = [fault.afterBytes ?? 0, 'reset'];
    if (fault?.kind === 'stall' && fault.afterBytes !== undefined) [this.#limit, this.#limitAction] = [fault.afterBytes, 'stall'];
    if (fault?.kind === 'partialBody') [this.#limit, this.#limitAction] = [fault.bytes ?? Math.floor((this.#contentLength ?? 0) / 2), 'truncate'];
    this.body = singleUseBody(() => this.#next(), () => this.cancel());
  }

  bytes(maxBytes?: number): Promise<Uint8Array> {
    return collectBody(this.body, { maxBytes, contentLength: this.#contentLength, cancel: () => this.cancel() });
  }

  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#exchange.failure) this.#record.error ??= 'cancelled';
    this.#exchange.fail(new NetworkError('aborted', 'response cancelled'));
    this.#exchange.end();
    this.#source.return?.().catch(() => {});
  }

  async #next(): Promise<IteratorResult<Uint8Array>> {
    try {
      return await this.#step();
    } catch (error) {
      if (error instanceof NetworkError) this.#exchange.fail(error);
      this.#record.error ??= errorCode(error);
      if (!this.#done) {
        this.#done = true;
        this.#exchange.end();
        this.#source.return?.().catch(() => {});
      }
      throw error;
    }
  }

  async #step(): Promise<IteratorResult<Uint8Array>> {
    const failure = this.#exchange.failure;
    if (failure) throw failure;
    if (this.#done) return { done: true, value: undefined };
    if (this.#limit !== undefined && this.#delivered >= this.#limit) {
      if (this.#limitAction === 'reset') throw new NetworkError('reset', `connection reset after ${this.#delivered} body bytes`);
      if (this.#limitAction === 'stall') await this.#exchange.wait(never(), 'waiting for body bytes'); // only ends by failing
      return this.#end(true); // partialBody: the server stops sending here
    }
    let chunk = this.#pending;
    this.#pending = undefined;
    while (!chunk) {
      // A handler stream that throws is a server dying mid-response: the client sees a reset.
      const pulled = this.#source.next().catch((error: unknown) => {
        throw new NetworkError('reset', `connection reset after ${this.#delivered} body bytes (server failed)`, { cause: error });
      });
      const result = await this.#exchange.wait(pulled, 'waiting for body bytes');
      if (result.done) return this.#end(false);
      if (result.value.length > 0) chunk = result.value;
    }
    if (this.#limit !== undefined && this.#delivered + chunk.length > this.#limit) {
      this.#pending = chunk.subarray(this.#limit - this.#delivered);
      chunk = chunk.subarray(0, this.#limit - this.#delivered);
    }
    this.#delivered += chunk.length;
    this.#record.bytes = this.#delivered;
    return { done: false, value: chunk.slice() };
  }

  #end(truncated: boolean): IteratorResult<Uint8Array> {
    const expected = this.#contentLength;
    // A real client notices a short body by the framing: Content-Length, or the missing last chunk.
    if (truncated || (expected !== undefined && this.#delivered < expected))
      throw new NetworkError('reset', `server closed the connection after ${this.#delivered} of ${expected ?? 'unknown'} body bytes`);
    if (expected !== undefined && this.#delivered > expected)
      throw new NetworkError('protocol', `handler sent ${this.#delivered} bytes with Content-Length ${expected}`);
    this.#done = true;
    this.#exchange.end();
    return { done: true, value: undefined };
  }
}

/** Re-chunks a handler body to at most `size` bytes per chunk, so resume logic sees real streaming. */
async function* chunks(body: Uint8Array | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const parts: AsyncIterable<Uint8Array> | Uint8Array[] = body instanceof Uint8Array ? [body] : body;
  for await (const part of parts) {
    for (let offset = 0; offset < part.length; offset += size) yield part.subarray(offset, offset + size);
  }
}

async function readRequestBody(body: HttpRequest['body']): Promise<Uint8Array> {
  if (body === undefined) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body.slice();
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part.slice());
  return concatBytes(parts);
}

function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

function errorCode(error: unknown): string {
  return error instanceof NetworkError ? error.code : 'handler';
}

function validateRequest(request: HttpRequest): void {
  validateRequestOptions(request);
  if (!originOf(request.url)) throw new InvalidOptionsError('request: url must be an absolute http: or https: URL');
}
