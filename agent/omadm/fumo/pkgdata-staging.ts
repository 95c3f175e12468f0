/**
 * FUMO `Update/PkgData` on the device's staging files (the lazy part of ./pkgdata.ts, loaded by the
 * first inline package: a device whose server sends URLs never loads it): the staging writer, the
 * large-object stream that decodes b64 chunks into it, and the HttpClient answer that serves a
 * staged package to the shared download stage (with Range, so a power cut resumes like a network
 * download). Staging files are named by ./pkgdata.ts (`name`), so nothing here imports its values back.
 */
import type { Bytes, HttpRequest, HttpResponse, Staging } from '../../../hal/types.ts';
import { NetworkError } from '../../../hal/errors.ts';
import { concatBytes, fromBase64, utf8Decode } from '../../util/bytes.ts';
import { DmStatusError } from '../errors.ts';
import type { ValueStream } from '../large-object.ts';
import type { PkgDataWriter } from './pkgdata.ts';

const READ_BYTES = 64 * 1024;

/** Streams a package into staging file `name` (replacing an earlier one): at most `reserve` bytes, appended in order. */
export async function stagingWriter(staging: Staging, name: string, reserve: number): Promise<PkgDataWriter> {
  const file = await staging.open({ name, create: true });
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

/** Size of the package in staging file `name`, undefined when there is none. */
export async function stagedSize(staging: Staging, name: string): Promise<number | undefined> {
  if (!(await staging.list()).includes(name)) return undefined;
  const file = await staging.open({ name, create: false });
  try {
    const size = await file.size();
    return size > 0 ? size : undefined;
  } finally {
    await file.close();
  }
}

/** Writes the inline package to its staging file, durably; returns its size. */
export async function storePkgData(staging: Staging, name: string, bytes: Uint8Array): Promise<number> {
  const writer = await stagingWriter(staging, name, bytes.length);
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

/** The staged package in file `name` as an HTTP answer to `request` (GET, Range `bytes=N-`). */
export async function servePkgData(staging: Staging, name: string, request: HttpRequest): Promise<HttpResponse> {
  if (!(await staging.list()).includes(name)) return response(404, {}, (async function* () {})());
  const file = await staging.open({ name, create: false });
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
}
