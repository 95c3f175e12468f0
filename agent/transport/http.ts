/**
 * One request/answer exchange with a manager: CBOR over HTTP(S) POST through the HAL's HTTP
 * client. The answer is size-capped while it is read, decoded as exactly one CBOR item and
 * validated against its schema before the caller sees it, so nothing downstream (and nothing
 * persisted) ever acts on a malformed or oversized message.
 */
import { NetworkError } from '../../hal/errors.ts';
import type { AbortSignalLike, HttpClient } from '../../hal/types.ts';
import { CborError, decodeCbor, encodeCbor } from '../util/cbor.ts';
import { redactText, redactUrl } from '../util/redact.ts';
import { type Schema, SchemaError } from './schema.ts';

export type TransportErrorCode =
  | 'network' // could not reach the manager or the transfer broke
  | 'timeout' // no progress for timeoutMs, or the whole exchange outlasted deadlineMs
  | 'status' // the manager answered with an HTTP error
  | 'contentType'
  | 'tooLarge'
  | 'badMessage'; // undecodable or schema-violating answer

export class TransportError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  // (status and managerCode stay own properties, undefined when absent, as the fields were).
  declare readonly code: TransportErrorCode;
  declare readonly status?: number;
  /** Worth trying again later (network trouble, 5xx, 408, 429). */
  declare readonly retryable: boolean;
  /** The manager's error code from an error answer, if it sent one. */
  declare readonly managerCode?: string;
  constructor(code: TransportErrorCode, message: string, options: { status?: number; retryable: boolean; managerCode?: string; cause?: unknown }) {
    super(message);
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable;
    this.managerCode = options.managerCode;
    this.name = 'TransportError';
    if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export const CBOR_TYPE = 'application/cbor';

export interface ExchangeOptions {
  maxAnswerBytes: number;
  /** Idle bound: no progress for this long fails the exchange. */
  timeoutMs: number;
  /** Whole-exchange bound (connect, headers and the complete answer body). */
  deadlineMs?: number;
  signal?: AbortSignalLike;
  headers?: Record<string, string>;
}

/** Joins a base URL and a path without the URL class (QuickJS has none). */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/**
 * Error messages name the manager by its redacted URL: credentials in a manager URL
 * (`https://user:pass@…`) must not reach a log, a summary or the CLI's output.
 */
export async function exchange<T>(http: HttpClient, rawUrl: string, request: unknown, answer: Schema<T>, options: ExchangeOptions): Promise<T> {
  const url = redactUrl(rawUrl);
  let response;
  try {
    response = await http.request({
      method: 'POST',
      url: rawUrl,
      headers: { 'content-type': CBOR_TYPE, accept: CBOR_TYPE, ...options.headers },
      body: encodeCbor(request),
      timeoutMs: options.timeoutMs,
      ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw wrapNetwork(url, error);
  }
  const contentType = (response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  let body: Uint8Array;
  try {
    body = await response.bytes(options.maxAnswerBytes);
  } catch (error) {
    if (error instanceof NetworkError && error.code === 'tooLarge')
      throw new TransportError('tooLarge', `answer from ${url} exceeds ${options.maxAnswerBytes} bytes`, { status: response.status, retryable: false, cause: error });
    throw wrapNetwork(url, error);
  }
  if (response.status < 200 || response.status > 299) {
    let managerCode: string | undefined;
    let detail = '';
    if (contentType === CBOR_TYPE) {
      try {
        const decoded = decodeCbor(body) as { code?: unknown; message?: unknown };
        if (typeof decoded?.code === 'string') managerCode = decoded.code;
        if (typeof decoded?.message === 'string') detail = `: ${redactText(decoded.message.slice(0, 200))}`;
      } catch {
        // An undecodable error body changes nothing: the status says enough.
      }
    }
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw new TransportError('status', `${url} answered ${response.status}${managerCode ? ` (${managerCode})` : ''}${detail}`, {
      status: response.status,
      retryable,
      ...(managerCode ? { managerCode } : {}),
    });
  }
  if (contentType !== CBOR_TYPE) throw new TransportError('contentType', `${url} answered ${contentType || 'no content type'}, expected ${CBOR_TYPE}`, { status: response.status, retryable: false });
  try {
    return answer.parse(decodeCbor(body));
  } catch (error) {
    if (error instanceof SchemaError || error instanceof CborError)
      throw new TransportError('badMessage', `invalid answer from ${url}: ${redactText(error.message)}`, { status: response.status, retryable: false, cause: error });
    throw error;
  }
}

function wrapNetwork(url: string, error: unknown): unknown {
  if (error instanceof NetworkError) {
    if (error.code === 'aborted') return error;
    // The HAL's message may quote the request URL: redact it too.
    return new TransportError(error.code === 'timeout' ? 'timeout' : 'network', `${url}: ${redactText(error.message)}`, { retryable: true, cause: error });
  }
  return error;
}
