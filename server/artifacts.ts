/**
 * Artifact delivery: the opaque location token an instruction hands out, the short-lived signed
 * URL a location answer gives for it, and the file itself served with Range, strong ETag and
 * If-Range, streamed from disk (artifacts can be far larger than the server's memory budget).
 *
 * Why signed URLs: the agent asks for the location right before each download attempt, so the URL
 * can expire quickly; anyone holding an old or forged URL gets a 403 and must ask the manager again.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { CatalogueEntry, Fleet } from './fleet.ts';
import { type ArtifactFault, corruptStream, cutStream } from './faults.ts';
import { HttpError, type ManagerResponse, emptyAnswer } from './wire.ts';

export const ARTIFACT_PREFIX = '/artifacts/';
export const DELTA_PREFIX = '/deltas/';
const CHUNK_BYTES = 64 * 1024;

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function sameMac(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class ArtifactSigner {
  readonly #secret: Buffer;
  /** Token key → catalogue entry: a token names a package without carrying its (unbounded) name. */
  readonly #byKey = new Map<string, CatalogueEntry>();

  constructor(fleet: Fleet, secret?: string) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
    for (const versions of fleet.catalogue.values()) for (const entry of versions.values()) this.#byKey.set(entryKey(entry), entry);
  }

  #mac(text: string): string {
    return base64url(createHmac('sha256', this.#secret).update(text).digest()).slice(0, 32);
  }

  /** `<package key>.<mac over device and key>`: bound to one device, ~55 characters whatever the names. */
  locationToken(deviceId: string, entry: CatalogueEntry): string {
    const key = entryKey(entry);
    return `${key}.${this.#mac(`token\n${deviceId}\n${key}`)}`;
  }

  /** The package a token names, or undefined if it is forged, for another device, or for nothing any more. */
  openToken(deviceId: string, token: string): CatalogueEntry | undefined {
    const [key, mac, extra] = token.split('.');
    if (key === undefined || mac === undefined || extra !== undefined) return undefined;
    if (!sameMac(mac, this.#mac(`token\n${deviceId}\n${key}`))) return undefined;
    return this.#byKey.get(key);
  }

  /** `<address>/artifacts/<name>/<version>?expires=<manager UTC ms>&sig=<mac>`. */
  signedUrl(address: string, entry: CatalogueEntry, expiresUtcMs: number): string {
    const path = artifactPath(entry.name, entry.version);
    return `${address}${path}?expires=${expiresUtcMs}&sig=${this.#mac(`GET ${path}\n${expiresUtcMs}`)}`;
  }

  /** `<address>/deltas/<patch sha256>?expires=…&sig=…`: a patch (../deltas.ts), signed like an artifact. */
  signedDeltaUrl(address: string, sha256: string, expiresUtcMs: number): string {
    const path = `${DELTA_PREFIX}${sha256}`;
    return `${address}${path}?expires=${expiresUtcMs}&sig=${this.#mac(`GET ${path}\n${expiresUtcMs}`)}`;
  }

  /** Throws a 403 unless `query` carries a valid, unexpired signature for this artifact. */
  verify(name: string, version: string, query: URLSearchParams, utcMs: number): void {
    this.verifyPath(artifactPath(name, version), query, utcMs);
  }

  /** The same for any signed path (`/deltas/<sha256>`). */
  verifyPath(path: string, query: URLSearchParams, utcMs: number): void {
    const expires = query.get('expires') ?? '';
    const sig = query.get('sig') ?? '';
    if (!/^\d{1,16}$/.test(expires) || !sameMac(sig, this.#mac(`GET ${path}\n${expires}`)))
      throw new HttpError(403, 'badSignature', 'artifact URL signature is missing or wrong: ask the manager for the location again');
    if (Number(expires) < utcMs) throw new HttpError(403, 'expired', `artifact URL expired at ${expires} (manager UTC ${utcMs}): ask the manager for the location again`);
  }
}

/** Canonical path: the signature covers the re-encoded name and version, whatever escaping the client used. */
export function artifactPath(name: string, version: string): string {
  return `${ARTIFACT_PREFIX}${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
}

function entryKey(entry: CatalogueEntry): string {
  return base64url(createHash('sha256').update(`${entry.name}\0${entry.version}`).digest()).slice(0, 22);
}

/** What serving a file needs: the manager's catalogue entries and the update service's images both have it. */
export type ServedFile = Pick<CatalogueEntry, 'name' | 'version' | 'path' | 'size' | 'digest'>;

export const etagOf = (entry: ServedFile): string => `"sha256-${entry.digest}"`;

export type RangeChoice = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range (RFC 9110 §14): `a-b`, `a-`, `-n`. Syntactically invalid or multi-range
 * headers are ignored (a full 200 is always a correct answer); a range that starts past the end
 * or an empty suffix is unsatisfiable (416).
 */
export function chooseRange(header: string | undefined, size: number): RangeChoice {
  if (header === undefined) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * GET/HEAD of one artifact. `takeFault` is asked only for GETs that carry a body, so a HEAD
 * probe doesn't use up a fault meant for the download.
 */
export async function serveArtifact(
  entry: ServedFile,
  request: { method: string; headers: Record<string, string> },
  takeFault: () => ArtifactFault | undefined,
): Promise<ManagerResponse> {
  const info = await stat(entry.path).catch(() => undefined);
  // The package list promised this size and digest; a file changed under us would break that promise.
  if (!info || info.size !== entry.size) throw new HttpError(500, 'artifactChanged', `${entry.name}@${entry.version}: the file changed since the fleet was loaded`);
  const etag = etagOf(entry);
  const ifRange = request.headers['if-range'];
  // If-Range is a strong comparison; a date or another ETag means "the copy I have is stale": send it all.
  const range = ifRange !== undefined && ifRange.trim() !== etag ? { kind: 'full' as const } : chooseRange(request.headers.range, entry.size);
  const headers: Record<string, string> = { 'accept-ranges': 'bytes', etag, 'content-type': 'application/octet-stream', 'cache-control': 'no-store' };
  if (range.kind === 'unsatisfiable') return emptyAnswer(416, { ...headers, 'content-range': `bytes */${entry.size}`, 'content-length': '0' });
  const [status, start, end] = range.kind === 'partial' ? [206, range.start, range.end] : [200, 0, entry.size - 1];
  if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${entry.size}`;
  const length = end - start + 1;
  headers['content-length'] = String(length);
  if (request.method === 'HEAD' || length === 0) return emptyAnswer(status, headers);
  let body: AsyncIterable<Uint8Array> = readFileRange(entry.path, start, end);
  const fault = takeFault();
  if (fault?.kind === 'corrupt') body = corruptStream(body);
  if (fault?.kind === 'reset') body = cutStream(body, fault.afterBytes);
  return { status, headers, body };
}

/** Pulls the file in 64 KiB chunks as the consumer asks: nothing is read ahead of a slow client. */
async function* readFileRange(path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path, { start, end, highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    stream.destroy();
  }
}
