/**
 * Every check the update pipeline makes on what a server tells it, in one place and without I/O
 * (like TUF's client: the trust decisions are pure functions over data, so they can be tested
 * exhaustively with hostile input and reused by every protocol family).
 *
 * Each check returns normally or throws `VerificationError` with a `code` the caller branches on.
 * Nothing here touches the HAL, the network or the store.
 */
import { fromHex, timingSafeEqual } from '../util/bytes.ts';

export type VerificationCode =
  | 'digestMismatch'
  | 'sizeMismatch'
  | 'badRange'
  | 'badUrl'
  | 'noSpace'
  | 'mismatch'
  | 'budgetExceeded';

export class VerificationError extends Error {
  // Declared and set in the constructor, not a class field: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: VerificationCode;
  constructor(code: VerificationCode, message: string) {
    super(message);
    this.name = 'VerificationError';
    this.code = code;
  }
}

// ───────────────────────────── digests ─────────────────────────────

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** True for a SHA-256 digest written as 64 hex digits (either case). */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/**
 * The computed digest equals the expected one. The comparison runs over every byte (constant
 * time): an attacker timing the refusal learns nothing about how close a forged image came.
 * `expectedHex` is hex of exactly `actual.length` bytes; case is ignored.
 */
export function verifyDigest(expectedHex: string, actual: Uint8Array): void {
  if (typeof expectedHex !== 'string' || expectedHex.length !== actual.length * 2 || !/^[0-9a-fA-F]*$/.test(expectedHex))
    throw new VerificationError('digestMismatch', `expected digest is not ${actual.length * 2} hex digits`);
  if (!timingSafeEqual(fromHex(expectedHex), actual)) throw new VerificationError('digestMismatch', 'artifact digest does not match the expected digest');
}

// ───────────────────────────── Content-Range ─────────────────────────────

export interface ContentRange {
  /** First byte of the body, inclusive. */
  start: number;
  /** Last byte of the body, inclusive (RFC 9110 §14.4). */
  end: number;
  /** Complete length, or undefined when the server sent `*`. */
  total: number | undefined;
}

/** `bytes first-last/complete` with complete possibly `*`; the range unit is case-insensitive (RFC 9110 §14.1). */
const CONTENT_RANGE = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/i;

/**
 * Parses the Content-Range of a 206 answer to `Range: bytes=<expectedStart>-` and checks it is
 * the range we asked for, of the artifact we expect: starts exactly where our durable bytes end
 * (a different start would splice foreign bytes into the image), ends inside the artifact, and
 * the complete length (when given) is the artifact size. Anything else, including the
 * unsatisfied form `bytes *\/N`, multiple ranges and oversized numbers, is `badRange`, except a
 * complete length other than `totalSize`, which is `sizeMismatch` (the server has another artifact).
 */
export function checkContentRange(header: string | undefined, expectedStart: number, totalSize: number): ContentRange {
  if (typeof header !== 'string') throw new VerificationError('badRange', 'partial content without a Content-Range header');
  // Optional whitespace around a field value is not part of it (RFC 9110 §5.5); bound the work on hostile input.
  const value = header.length > 120 ? '' : header.trim();
  const match = CONTENT_RANGE.exec(value);
  if (!match) throw new VerificationError('badRange', `malformed Content-Range: ${printable(header)}`);
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (total !== undefined && !Number.isSafeInteger(total)))
    throw new VerificationError('badRange', `Content-Range numbers out of range: ${printable(header)}`);
  if (end < start) throw new VerificationError('badRange', `Content-Range ends before it starts: ${printable(header)}`);
  if (total !== undefined && end >= total) throw new VerificationError('badRange', `Content-Range ends past its complete length: ${printable(header)}`);
  if (total !== undefined && total !== totalSize)
    throw new VerificationError('sizeMismatch', `server artifact is ${total} bytes, expected ${totalSize}`);
  if (start !== expectedStart) throw new VerificationError('badRange', `Content-Range starts at ${start}, requested ${expectedStart}`);
  if (end >= totalSize) throw new VerificationError('sizeMismatch', `Content-Range ends at byte ${end} of a ${totalSize}-byte artifact`);
  return { start, end, total };
}

// ───────────────────────────── URLs ─────────────────────────────

export interface DownloadUrl {
  /** Lower case. */
  scheme: string;
  /** As written (IPv6 literals keep their brackets). */
  host: string;
  port: number | undefined;
  /** Path, query and fragment as written ('' when absent). */
  rest: string;
}

/** Schemes the download stage can fetch at all; the board's transports narrow this further. */
const FETCHABLE = ['http', 'https'];
const MAX_URL_LENGTH = 8192;
const HOST_NAME = /^[A-Za-z0-9._~-]+$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/;

/**
 * Checks a server-supplied artifact URL before any request, by hand (QuickJS has no URL class):
 * an absolute http(s) URL whose scheme is one of `allowedSchemes` (the board's transports), a
 * non-empty host made of plain host-name characters or an IPv6 literal, an optional numeric
 * port, no credentials (`user:pass@` would leak into logs and lets `https://trusted@evil` read
 * as trusted), and nothing a parser could disagree about: no whitespace, control characters,
 * backslashes or non-ASCII anywhere.
 */
export function checkDownloadUrl(url: string, allowedSchemes: readonly string[]): DownloadUrl {
  if (typeof url !== 'string' || url.length === 0) throw new VerificationError('badUrl', 'download URL is empty');
  if (url.length > MAX_URL_LENGTH) throw new VerificationError('badUrl', `download URL longer than ${MAX_URL_LENGTH} characters`);
  for (let i = 0; i < url.length; i++) {
    const code = url.charCodeAt(i);
    // Printable ASCII only: whitespace, controls (CR/LF injection), DEL and non-ASCII are refused.
    if (code <= 0x20 || code >= 0x7f) throw new VerificationError('badUrl', `download URL has a forbidden character at position ${i}`);
  }
  if (url.includes('\\')) throw new VerificationError('badUrl', 'download URL contains a backslash');
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : '';
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new VerificationError('badUrl', `download URL has no scheme: ${printable(url)}`);
  const allowed = allowedSchemes.map((s) => s.toLowerCase());
  if (!FETCHABLE.includes(scheme) || !allowed.includes(scheme))
    throw new VerificationError('badUrl', `download URL scheme ${scheme} is not allowed (allowed: ${allowed.filter((s) => FETCHABLE.includes(s)).join(', ') || 'none'})`);
  if (url.slice(colon + 1, colon + 3) !== '//') throw new VerificationError('badUrl', 'download URL is not absolute (missing //)');
  const afterSlashes = colon + 3;
  let authorityEnd = url.length;
  for (const stop of ['/', '?', '#']) {
    const at = url.indexOf(stop, afterSlashes);
    if (at >= 0 && at < authorityEnd) authorityEnd = at;
  }
  const authority = url.slice(afterSlashes, authorityEnd);
  if (authority.includes('@')) throw new VerificationError('badUrl', 'download URL carries credentials');
  let host = authority;
  let port: number | undefined;
  const portMatch = /:(\d*)$/.exec(authority);
  // An IPv6 literal contains colons itself: only a colon after its closing bracket starts a port.
  if (portMatch && (!authority.startsWith('[') || authority.lastIndexOf(']') < portMatch.index)) {
    host = authority.slice(0, portMatch.index);
    const digits = portMatch[1] ?? '';
    port = digits.length > 0 && digits.length <= 5 ? Number(digits) : NaN;
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new VerificationError('badUrl', `download URL has an invalid port: ${printable(authority)}`);
  }
  if (host.length === 0) throw new VerificationError('badUrl', 'download URL has an empty host');
  if (!(HOST_NAME.test(host) || IPV6_LITERAL.test(host))) throw new VerificationError('badUrl', `download URL has an invalid host: ${printable(host)}`);
  return { scheme, host, port, rest: url.slice(authorityEnd) };
}

// ───────────────────────────── sizes and budgets ─────────────────────────────

export interface SizeLimits {
  /** Largest artifact the destination takes (slot size, policy cap). */
  maxBytes?: number;
  /** Free bytes in the destination (staging `available()`). */
  available?: number;
  /** Bytes of this artifact already in the destination (a resume): they need no new space. */
  staged?: number;
}

/** The announced artifact size is a sane byte count and fits where it will be written. */
export function checkArtifactSize(size: number, limits: SizeLimits): void {
  if (!isByteCount(size)) throw new VerificationError('sizeMismatch', `artifact size ${String(size)} is not a byte count`);
  if (limits.maxBytes !== undefined && size > limits.maxBytes)
    throw new VerificationError('noSpace', `artifact of ${size} bytes exceeds the limit of ${limits.maxBytes} bytes`);
  const staged = Math.min(limits.staged ?? 0, size);
  if (limits.available !== undefined && size - staged > limits.available)
    throw new VerificationError('noSpace', `artifact needs ${size - staged} more bytes, only ${limits.available} available`);
}

/** Bytes transferred for one artifact (across attempts and reboots) stay within its budget. */
export function checkBudget(bytesTransferred: number, budget: number): void {
  if (bytesTransferred > budget)
    throw new VerificationError('budgetExceeded', `transferred ${bytesTransferred} bytes, over the budget of ${budget} bytes`);
}

export function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Server text quoted in a message: bounded, control characters made visible. */
export function printable(text: string): string {
  const short = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(short);
}
