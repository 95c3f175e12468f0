/**
 * A `MetadataSource` over the HAL's HTTP client: `GET <base>/<file>`. The TUF workflow gives each
 * file a length cap (endless data: the body is refused past it while it is read) and every request
 * gets the idle timeout and the whole-exchange deadline (slow retrieval: a server trickling bytes
 * cannot hold the device). A 404 is "no such file" (the end of the root chain); any other non-2xx
 * answer is a network-level failure worth retrying later, never a verification result.
 */
import { NetworkError } from '../../hal/errors.ts';
import type { AbortSignalLike, HttpClient } from '../../hal/types.ts';
import { redactUrl } from '../util/redact.ts';
import { TrustError } from './errors.ts';
import type { MetadataSource } from './updater.ts';

export interface HttpSourceOptions {
  http: HttpClient;
  /** The repository's metadata URL (`…/metadata/`); resolved for each refresh (a manager can move). */
  baseUrl: string;
  timeoutMs: number;
  deadlineMs: number;
  signal?: AbortSignalLike;
}

/** Why a metadata fetch failed at the transport level (the caller retries later). */
export class MetadataFetchError extends Error {
  // Declared and set in the constructor: class field initializers are one more function each in a QuickJS heap.
  declare readonly retryable: true;
  constructor(message: string) {
    super(message);
    this.name = 'MetadataFetchError';
    this.retryable = true;
  }
}

export function httpMetadataSource(options: HttpSourceOptions): MetadataSource {
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    async fetch(file, maxBytes) {
      const url = `${base}/${file}`;
      const response = await options.http.request({
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        timeoutMs: options.timeoutMs,
        deadlineMs: options.deadlineMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      try {
        if (response.status === 404) return undefined;
        if (response.status < 200 || response.status > 299) throw new MetadataFetchError(`${redactUrl(url)} answered ${response.status}`);
        // A Content-Length over the cap is refused before a byte is read.
        const declared = Number(response.headers['content-length'] ?? NaN);
        if (Number.isFinite(declared) && declared > maxBytes) throw new TrustError('tooLarge', `${file} is ${declared} bytes, over ${maxBytes}`);
        try {
          return await response.bytes(maxBytes);
        } catch (error) {
          if (error instanceof NetworkError && error.code === 'tooLarge') throw new TrustError('tooLarge', `${file} is over ${maxBytes} bytes`);
          throw error;
        }
      } finally {
        response.cancel();
      }
    },
  };
}
