/**
 * FUMO `Update/PkgData`: the package the server delivers inline (Replace, usually as a large object
 * in MoreData chunks). It is kept out of the DM tree (the store is small): the CSP writes it to a
 * staging file, synced before the Replace is answered, and the tree's leaf only says how big it is.
 *
 * The shared pipeline then takes it from there like any package — same download stage (chunks,
 * checkpoints, SHA-256 verification), same slot sink, hold, activation — by reading it from a
 * reserved origin that this module's HttpClient serves from the staging file (with Range, so a
 * power cut resumes like a network download). There is no second download path.
 */
import type { Bytes, HttpClient, HttpRequest, HttpResponse, Staging } from '../../../hal/types.ts';
import { NetworkError } from '../../../hal/errors.ts';
import { concatBytes, fromBase64, utf8Decode } from '../../util/bytes.ts';
import { DmStatusError } from '../errors.ts';
import type { ValueStream } from '../large-object.ts';

/** `.invalid` never resolves (RFC 2606): nothing else can answer on this origin. */
export const PKGDATA_ORIGIN = 'http://pkgdata.fumo.invalid/';
const READ_BYTES = 64 * 1024;

export function pkgDataFile(instance: string): string {
  return `omadm-pkgdata-${instance}`;
}

export function pkgDataUrl(instance: string): string {
  return `${PKGDATA_ORIGIN}${encodeURIComponent(instance)}`;
}

/** Where FUMO keeps inline packages (the staging files below, or a test's stand-in). */
export interface PkgDataStore {
  /** Stores the package durably (replacing an earlier one); returns its size. */
  put(instance: string, bytes: Uint8Array): Promise<number>;
  /** Streams a package in (replacing an earlier one): at most `reserve` bytes, appended in order. */
  writer(instance: string, reserve: number): Promise<PkgDataWriter>;
  /** Size of the stored package, undefined when there is none. */
  size(instance: string): Promise<number | undefined>;
  remove(instance: string): Promise<void>;
}

export interface PkgDataWriter {
  append(bytes: Uint8Array): Promise<void>;
  /** Synced and closed: the package is complete. */
  end(): Promise<void>;
  /** Emptied and closed: no package (an Exec Update then finds none). */
  abort(): Promise<void>;
}

async function stagingWriter(staging: Staging, instance: string, reserve: number): Promise<PkgDataWriter> {
  const file = await staging.open({ name: pkgDataFile(instance), create: true });
  let at = 0;
  try {
    await file.truncate(0);
    await file.reserve(reserve);
  } catch (error) {
    await file.close();
    throw error;
  }
  return {
    async append(bytes) {
      if (at + bytes.length > reserve) throw new RangeError('package larger than announced');
      await file.write(at, bytes);
      at += bytes.length;
    },
    async end() {
      await file.sync();
      await file.close();
    },
    async abort() {
      await file.truncate(0);
      await file.close();
    },
  };
}

export function stagingPkgData(staging: Staging): PkgDataStore {
  return {
    put: (instance, bytes) => storePkgData(staging, instance, bytes),
    writer: (instance, reserve) => stagingWriter(staging, instance, reserve),
    async size(instance) {
      if (!(await staging.list()).includes(pkgDataFile(instance))) return undefined;
      const file = await staging.open({ name: pkgDataFile(instance), create: false });
      try {
        const size = await file.size();
        return size > 0 ? size : undefined;
      } finally {
        await file.close();
      }
    },
    remove: (instance) => staging.remove(pkgDataFile(instance)),
  };
}

/** Writes the inline package to its staging file, durably; returns its size. */
export async function storePkgData(staging: Staging, instance: string, bytes: Uint8Array): Promise<number> {
  const writer = await stagingWriter(staging, instance, bytes.length);
  try {
    for (let at = 0; at < bytes.length; at += READ_BYTES) await writer.append(bytes.subarray(at, Math.min(bytes.length, at + READ_BYTES)));
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
  await writer.end();
  return bytes.length;
}

/**
 * The large-object stream of a PkgData Replace: chunks appended to the writer as they arrive
 * (Format b64: decoded in whole 4-character groups, the rest kept for the next chunk).
 */
export function pkgDataStream(writer: PkgDataWriter, format: string): ValueStream {
  let carry = '';
  return {
    async write(bytes) {
      if (format !== 'b64') return writer.append(bytes);
      const text = carry + utf8Decode(bytes).replace(/\s+/g, '');
      const whole = text.length - (text.length % 4);
      carry = text.slice(whole);
      if (whole > 0) await writer.append(fromBase64(text.slice(0, whole)));
    },
    async end() {
      if (carry !== '') {
        await writer.abort();
        throw new DmStatusError(400, 'PkgData is not valid base64');
      }
      await writer.end();
    },
    abort: () => writer.abort(),
  };
}

function response(status: number, headers: Record<string, string>, body: AsyncIterable<Bytes>, onCancel: () => void = () => undefined): HttpResponse {
  let cancelled = false;
  const guarded: AsyncIterable<Bytes> = {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of body) {
        if (cancelled) return;
        yield chunk;
      }
    },
  };
  return {
    status,
    headers,
    body: guarded,
    async bytes(maxBytes = Number.POSITIVE_INFINITY) {
      const parts: Bytes[] = [];
      let total = 0;
      for await (const chunk of guarded) {
        total += chunk.length;
        if (total > maxBytes) throw new NetworkError('tooLarge', 'response larger than allowed');
        parts.push(chunk);
      }
      return concatBytes(parts);
    },
    cancel() {
      cancelled = true;
      onCancel();
    },
  };
}

/** `inner` for every URL but the PkgData origin, which is served from the staging files (GET, Range `bytes=N-`). */
export function pkgDataHttp(staging: Staging, inner: HttpClient): HttpClient {
  return {
    async request(request: HttpRequest): Promise<HttpResponse> {
      if (!request.url.startsWith(PKGDATA_ORIGIN)) return inner.request(request);
      const instance = decodeURIComponent(request.url.slice(PKGDATA_ORIGIN.length));
      if (!(await staging.list()).includes(pkgDataFile(instance))) return response(404, {}, (async function* () {})());
      const file = await staging.open({ name: pkgDataFile(instance), create: false });
      const size = await file.size();
      const range = /^bytes=(\d+)-$/.exec(request.headers?.['range'] ?? '');
      const from = range ? Number(range[1]) : 0;
      if (from > size || (range && from === size && size > 0)) {
        await file.close();
        return response(416, { 'content-range': `bytes */${size}` }, (async function* () {})());
      }
      // Closed once: when the body is read to the end, or when the caller cancels (read or not).
      let closing: Promise<void> | undefined;
      const close = (): Promise<void> => (closing ??= Promise.resolve(file.close()));
      const body = async function* () {
        try {
          for (let at = from; at < size; at += READ_BYTES) yield await file.read(at, Math.min(READ_BYTES, size - at));
        } finally {
          await close();
        }
      };
      const headers: Record<string, string> = { 'content-length': String(size - from), 'content-type': 'application/octet-stream' };
      if (range) headers['content-range'] = `bytes ${from}-${size - 1}/${size}`;
      return response(range ? 206 : 200, headers, body(), () => void close().catch(() => undefined));
    },
  };
}
