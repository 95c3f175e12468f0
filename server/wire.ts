/**
 * The manager's request/answer shapes and the small helpers every route uses. The shapes are the
 * in-process mock network's handler shape (`hal/mock/net.ts`), so one manager can be mounted there
 * for fault-injection tests and behind node:http (`server/http.ts`) for real.
 */
import { CBOR_MEDIA_TYPE, type ErrorAnswer } from '../agent/delivery/messages.ts';
import { encodeCbor } from '../agent/util/cbor.ts';

export interface ManagerRequest {
  method: string;
  /** Path and query (`/dm/v1/identify?x=1`); an absolute URL is accepted too (the mock network passes one). */
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface ManagerResponse {
  status: number;
  headers: Record<string, string>;
  /**
   * Bytes, or a stream for artifacts. A stream that throws mid-way means "cut the connection here":
   * the node adapter destroys the socket, the mock network reports a reset to the client.
   */
  body: Uint8Array | AsyncIterable<Uint8Array>;
}

/** How a route refuses a request; the router turns it into a CBOR or JSON error answer. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

export function cborAnswer(status: number, value: unknown, headers: Record<string, string> = {}): ManagerResponse {
  return { status, headers: { 'content-type': CBOR_MEDIA_TYPE, ...headers }, body: encodeCbor(value) };
}

export function cborError(status: number, code: string, message: string, headers: Record<string, string> = {}): ManagerResponse {
  const answer: ErrorAnswer = { type: 'error', code, message: message.slice(0, 4096) };
  return cborAnswer(status, answer, headers);
}

export function jsonAnswer(status: number, value: unknown, headers: Record<string, string> = {}): ManagerResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: utf8.encode(`${JSON.stringify(value, jsonReplacer, 2)}\n`) };
}

export function jsonError(status: number, code: string, message: string, headers: Record<string, string> = {}): ManagerResponse {
  return jsonAnswer(status, { error: { code, message } }, headers);
}

export function emptyAnswer(status: number, headers: Record<string, string> = {}): ManagerResponse {
  return { status, headers, body: EMPTY };
}

/** JSON has no bytes: file-collection contents travel as `{ base64 }` in the query API and the journal. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  return value;
}

export function jsonReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const base64 = (value as { base64?: unknown }).base64;
    if (keys.length === 1 && typeof base64 === 'string') return new Uint8Array(Buffer.from(base64, 'base64'));
  }
  return value;
}

/** Splits a request URL into decoded path segments and query; a bad %-escape is a 400. */
export function parseUrl(url: string): { path: string; segments: string[]; query: URLSearchParams } {
  // The mock network hands over absolute URLs; node:http hands over the request target.
  const withoutOrigin = /^https?:\/\//i.test(url) ? url.replace(/^https?:\/\/[^/?#]*/i, '') : url;
  const hash = withoutOrigin.indexOf('#');
  const target = hash >= 0 ? withoutOrigin.slice(0, hash) : withoutOrigin;
  const mark = target.indexOf('?');
  const path = (mark >= 0 ? target.slice(0, mark) : target) || '/';
  let segments: string[];
  try {
    segments = path.split('/').filter((part) => part !== '').map((part) => decodeURIComponent(part));
  } catch {
    throw new HttpError(400, 'badUrl', `malformed %-escape in ${JSON.stringify(path.slice(0, 200))}`);
  }
  // Parsed on first use: the protocol routes (every device poll) never look at a query.
  let query: URLSearchParams | undefined;
  return {
    path,
    segments,
    get query() {
      return (query ??= new URLSearchParams(mark >= 0 ? target.slice(mark + 1) : ''));
    },
  };
}

/** The media type without parameters, lower case (`application/cbor; x=y` → `application/cbor`). */
export function mediaType(headers: Record<string, string>): string {
  return (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Manager addresses compare without a trailing slash and case-insensitively in scheme and host. */
export function sameAddress(a: string, b: string): boolean {
  return normaliseAddress(a) === normaliseAddress(b);
}

export function normaliseAddress(address: string): string {
  const match = /^(https?:\/\/[^/?#]+)(.*)$/i.exec(address.trim());
  if (!match) return address.trim();
  let origin = match[1]!.toLowerCase();
  if (origin.startsWith('http://') && origin.endsWith(':80')) origin = origin.slice(0, -3);
  if (origin.startsWith('https://') && origin.endsWith(':443')) origin = origin.slice(0, -4);
  return origin + match[2]!.replace(/\/+$/, '');
}
