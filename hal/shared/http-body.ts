/**
 * The parts of an `HttpResponse` every HTTP implementation shares: a body that can be iterated
 * once (leaving a `for await` early cancels the transfer) and `bytes(maxBytes)`, which refuses
 * an oversized body as soon as it knows (Content-Length up front, else while reading); and the
 * validation of request options.
 */
import { concatBytes } from '../../agent/util/bytes.ts';
import { InvalidOptionsError, NetworkError } from '../errors.ts';
import type { HttpMethod, HttpRequest } from '../types.ts';

export function singleUseBody(next: () => Promise<IteratorResult<Uint8Array>>, cancel: () => void): AsyncIterable<Uint8Array> {
  let iterated = false;
  return {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      if (iterated) throw new NetworkError('io', 'response body can only be read once');
      iterated = true;
      return {
        next,
        // `break` out of for-await: the consumer is done with the transfer.
        return: async () => {
          cancel();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

export async function collectBody(body: AsyncIterable<Uint8Array>, options: { maxBytes: number | undefined; contentLength: number | undefined; cancel: () => void }): Promise<Uint8Array> {
  const { maxBytes, contentLength } = options;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 0)) throw new InvalidOptionsError('bytes: maxBytes must be a non-negative integer');
  if (maxBytes !== undefined && contentLength !== undefined && contentLength > maxBytes) {
    options.cancel();
    throw new NetworkError('tooLarge', `body of ${contentLength} bytes exceeds ${maxBytes}`);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (maxBytes !== undefined && total > maxBytes) throw new NetworkError('tooLarge', `body exceeds ${maxBytes} bytes`);
    parts.push(chunk);
  }
  return concatBytes(parts);
}

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];

/** The typed error of an exchange that outlasted its `deadlineMs` (same code as the idle timeout). */
export function deadlineError(deadlineMs: number): NetworkError {
  return new NetworkError('timeout', `request exceeded its deadline of ${deadlineMs} ms`);
}

/** Checks everything about a request but its URL (each implementation parses URLs its own way). */
export function validateRequestOptions(request: HttpRequest): void {
  if (!request || typeof request !== 'object') throw new InvalidOptionsError('request: options object required');
  if (!METHODS.includes(request.method)) throw new InvalidOptionsError(`request: method must be one of ${METHODS.join(', ')}`);
  if (typeof request.url !== 'string') throw new InvalidOptionsError('request: url must be an absolute http: or https: URL');
  if (request.headers !== undefined) {
    if (typeof request.headers !== 'object' || request.headers === null) throw new InvalidOptionsError('request: headers must be an object');
    for (const [name, value] of Object.entries(request.headers))
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || typeof value !== 'string' || /[\r\n]/.test(value))
        throw new InvalidOptionsError(`request: invalid header ${name}`);
  }
  if (request.body !== undefined && !(request.body instanceof Uint8Array) && typeof (request.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function')
    throw new InvalidOptionsError('request: body must be a Uint8Array or an AsyncIterable<Uint8Array>');
  if (request.timeoutMs !== undefined && !(Number.isFinite(request.timeoutMs) && request.timeoutMs > 0))
    throw new InvalidOptionsError('request: timeoutMs must be a positive number');
  if (request.deadlineMs !== undefined && !(Number.isFinite(request.deadlineMs) && request.deadlineMs > 0))
    throw new InvalidOptionsError('request: deadlineMs must be a positive number');
  if (request.signal !== undefined && typeof request.signal?.onAbort !== 'function') throw new InvalidOptionsError('request: signal must be an AbortSignalLike');
}
