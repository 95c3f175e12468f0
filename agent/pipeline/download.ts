/**
 * The download stage of the shared update pipeline: fetch one artifact into a sink with HTTP
 * Range resume, hash it while it streams, and refuse it unless the SHA-256 matches.
 *
 * Durability: progress is checkpointed (offset + exported hash state) only after `sink.sync()`,
 * so a recorded offset always names durable bytes. A later run (after a reset, or a reboot)
 * truncates the sink back to that offset — bytes after it may be torn — and continues hashing
 * from the saved state, never re-reading what is on flash. Transient failures keep what did
 * arrive (sync, checkpoint) and retry from there after an exponential backoff on the HAL clock.
 *
 * Memory: one network chunk at a time; the artifact is never buffered.
 *
 * What is a result and what throws: every network or server outcome is a `DownloadResult`.
 * Failures of the device itself (sink or store I/O, a power cut, invalid options) throw: they are
 * not the server's fault and the state machine around us handles them.
 */
import { InvalidOptionsError, NetworkError } from '../../hal/errors.ts';
import type { AbortSignalLike, Clock, HttpClient, HttpResponse } from '../../hal/types.ts';
import type { StreamingHash } from '../../wasm/index.ts';
import { AbortedError, sleep } from '../util/sleep.ts';
import { redactUrl } from '../util/redact.ts';
import { backoffDelay, validatePolicy, type BackoffPolicy } from './backoff.ts';
import { SinkError, type SinkHandle } from './sinks.ts';
import { VerificationError, checkBudget, checkContentRange, checkDownloadUrl, isSha256Hex, verifyDigest } from './verify.ts';

/** What the stage uses of a streaming SHA-256 (WASM or JS engine of wasm/index.ts). */
export type DownloadHash = Pick<StreamingHash, 'update' | 'digest' | 'exportState' | 'bytesHashed'>;

/** `create()` starts a SHA-256, `create(state)` continues an exported one (e.g. `engines.createHash('sha256', state)`). */
export interface HasherFactory {
  create(state?: Uint8Array): DownloadHash;
}

export interface DownloadProgress {
  /** Bytes of the artifact durable in the sink and absorbed by `hashState`. */
  offset: number;
  hashState: Uint8Array;
  /** Body bytes received for this artifact so far, across attempts and runs (the budget counts these). */
  bytesTransferred: number;
  /** Attempts so far, across runs (see `DownloadOptions.maxAttempts`). */
  attempts: number;
  /** Validator of the artifact the bytes came from, sent back as `If-Range`. */
  etag?: string;
}

export interface DownloadOptions {
  http: HttpClient;
  clock: Clock;
  hasher: HasherFactory;
  url: string;
  /** Exact artifact size in bytes. */
  size: number;
  /** Expected SHA-256, hex. */
  digest: string;
  /** Opened by the caller: empty for a fresh download, opened with `resume: true` with `resumeFrom`. */
  sink: SinkHandle;
  /** Persisted progress of an earlier (interrupted) run. */
  resumeFrom?: DownloadProgress;
  /** Persist progress at least every this many bytes. */
  checkpointBytes: number;
  /** Persists progress in the crash-safe store. Called only after `sink.sync()`. */
  checkpoint: (progress: DownloadProgress) => Promise<void>;
  /**
   * Attempts allowed, counted across runs. An attempt is the first request and every request
   * after a failure or a restart from byte 0; a request that continues a good partial answer
   * (the server sent less than the whole remaining range) is part of the same attempt.
   */
  maxAttempts: number;
  /** Body bytes allowed for this artifact, across attempts and runs. */
  byteBudget: number;
  /** A request fails when it makes no progress for this long (the HAL's idle timeout). */
  timeoutMs: number;
  backoff: BackoffPolicy;
  /** Schemes the board may fetch from (default http and https). */
  allowedSchemes?: readonly string[];
  /** Jitter source in [0, 1) (e.g. from `device.random`); without it the backoff is exact. */
  random01?: () => number;
  onProgress?: (offset: number, size: number) => void;
  signal?: AbortSignalLike;
  /** Extra request headers (e.g. credentials for an image URL outside the firewall). Never persisted or logged. */
  headers?: Record<string, string>;
}

export type DownloadFailureCode =
  | 'digestMismatch'
  | 'sizeMismatch'
  | 'httpStatus'
  | 'budgetExceeded'
  | 'attemptsExhausted'
  | 'relocate'
  | 'aborted'
  | 'badUrl';

export type DownloadResult =
  | { ok: true; bytesTransferred: number; attempts: number }
  | {
      ok: false;
      code: DownloadFailureCode;
      message: string;
      status?: number;
      bytesTransferred: number;
      attempts: number;
      /** Whether trying again later (or, for `relocate`, at a new location) can succeed. */
      retryable: boolean;
    };

/** A failed stop, before the counters are attached. */
interface Stop {
  code: DownloadFailureCode;
  message: string;
  status?: number;
}

/** How one request ended. */
type Outcome =
  | { kind: 'complete' } // every byte of the artifact is in the sink
  | { kind: 'continue' } // a good partial answer ended short of the artifact: ask for the rest
  | { kind: 'retry'; message: string; retryAfterMs?: number } // transient: back off, resume
  | { kind: 'restart'; message: string } // our bytes cannot be continued: start over at 0
  | { kind: 'stop'; stop: Stop };

/** Not retried: the request was wrong or not allowed, asking again cannot help. */
const RELOCATE_STATUSES = [403, 404, 410];
/** 4xx that mean "later", not "never". */
const RETRYABLE_CLIENT_STATUSES = [408, 429];
const RETRYABLE: Record<DownloadFailureCode, boolean> = {
  digestMismatch: true, // a transfer may have been corrupted; the caller's policy decides
  sizeMismatch: false,
  httpStatus: false,
  budgetExceeded: false,
  attemptsExhausted: true,
  relocate: true, // at a new location
  aborted: true,
  badUrl: false,
};

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  validateOptions(options);
  return new DownloadRun(options).run();
}

class DownloadRun {
  readonly #o: DownloadOptions;
  #hash!: DownloadHash;
  #offset = 0;
  /** Offset of the last checkpoint (durable, recorded). */
  #checkpointed = 0;
  #bytesTransferred = 0;
  #attempts = 0;
  #etag: string | undefined;
  /** Transient failures so far in this run: the backoff exponent. */
  #failures = 0;
  #restartedAfter416 = false;

  constructor(options: DownloadOptions) {
    this.#o = options;
  }

  async run(): Promise<DownloadResult> {
    const o = this.#o;
    try {
      checkDownloadUrl(o.url, o.allowedSchemes ?? ['http', 'https']);
    } catch (error) {
      if (error instanceof VerificationError) return this.#fail({ code: 'badUrl', message: error.message });
      throw error;
    }
    await this.#start();
    let lastFailure = 'no attempt made';
    let continuing = false;
    // Bounded: every pass either consumes an attempt (≤ maxAttempts) or, when continuing, made
    // progress of at least one byte (≤ size passes).
    while (this.#offset < o.size) {
      if (o.signal?.aborted) return this.#aborted();
      if (this.#bytesTransferred >= o.byteBudget) return this.#budget();
      if (!continuing) {
        if (this.#attempts >= o.maxAttempts) return this.#exhausted(lastFailure);
        this.#attempts++;
      }
      const outcome = await this.#request();
      continuing = outcome.kind === 'continue';
      if (outcome.kind === 'stop') {
        // A new location continues these bytes: keep them.
        if (outcome.stop.code === 'relocate') await this.#persist();
        return this.#fail(outcome.stop);
      }
      if (outcome.kind === 'restart') {
        lastFailure = outcome.message;
        await this.#restartFromZero();
      } else if (outcome.kind === 'retry') {
        lastFailure = outcome.message;
        this.#failures++;
        await this.#persist(); // keep what arrived: the retry resumes from here
        if (this.#attempts >= o.maxAttempts) return this.#exhausted(lastFailure);
        const delay = Math.max(backoffDelay(this.#failures, o.backoff, o.random01?.()), Math.min(outcome.retryAfterMs ?? 0, o.backoff.maxMs));
        try {
          await sleep(o.clock, delay, o.signal);
        } catch (error) {
          if (error instanceof AbortedError) return this.#aborted();
          throw error;
        }
      }
    }
    return this.#finish();
  }

  /** Picks up the persisted progress, or starts from an empty sink. */
  async #start(): Promise<void> {
    const o = this.#o;
    const from = o.resumeFrom;
    if (from) {
      this.#bytesTransferred = from.bytesTransferred;
      this.#attempts = from.attempts;
      let hash: DownloadHash | undefined;
      try {
        hash = o.hasher.create(from.hashState);
      } catch {
        hash = undefined; // a state this engine cannot read (corrupt, other format): start over
      }
      // A state that did not absorb exactly the recorded bytes belongs to other progress: unusable.
      if (hash && hash.bytesHashed === from.offset && from.offset <= o.size) {
        try {
          // Bytes after the checkpoint may be torn (written but not synced when power went).
          await o.sink.truncate(from.offset);
          this.#hash = hash;
          this.#offset = this.#checkpointed = from.offset;
          this.#etag = from.etag;
          o.onProgress?.(this.#offset, o.size);
          return;
        } catch (error) {
          if (!(error instanceof SinkError)) throw error;
        }
      }
      await this.#restartFromZero();
      return;
    }
    // A fresh download owns the sink from byte 0 (no-op on a freshly opened sink).
    await o.sink.truncate(0);
    this.#hash = o.hasher.create();
  }

  /** One GET from the current offset, streamed into the sink. */
  async #request(): Promise<Outcome> {
    const o = this.#o;
    const headers: Record<string, string> = { ...o.headers };
    const ranged = this.#offset > 0;
    if (ranged) {
      headers['range'] = `bytes=${this.#offset}-`;
      // If-Range needs a strong validator (RFC 9110 §13.1.5); the server then answers 200 with the
      // whole new artifact instead of splicing its bytes onto ours.
      if (this.#etag !== undefined && !this.#etag.startsWith('W/')) headers['if-range'] = this.#etag;
    }
    let response: HttpResponse;
    try {
      response = await o.http.request({ method: 'GET', url: o.url, headers, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (error) {
      return this.#networkFailure(error);
    }
    try {
      return await this.#handle(response, ranged);
    } finally {
      response.cancel(); // idempotent; releases the connection on every early exit
    }
  }

  async #handle(response: HttpResponse, ranged: boolean): Promise<Outcome> {
    const o = this.#o;
    const status = response.status;
    const etag = response.headers['etag'];
    if (status === 200) {
      const length = response.headers['content-length'];
      if (length !== undefined && length.trim() !== String(o.size))
        return stop('sizeMismatch', `server sends ${printable(length)} bytes, expected ${o.size}`);
      // The server ignored our Range or If-Range said the artifact changed: this body is the
      // whole (possibly new) artifact, so our bytes are worthless.
      if (this.#offset > 0) await this.#restartFromZero();
      this.#etag = etag;
      return this.#stream(response, o.size);
    }
    if (status === 206) {
      if (this.#etag !== undefined && etag !== undefined && etag !== this.#etag)
        return { kind: 'restart', message: `artifact changed on the server (ETag ${printable(etag)}, had ${printable(this.#etag)})` };
      let end: number;
      try {
        end = checkContentRange(response.headers['content-range'], this.#offset, o.size).end + 1;
      } catch (error) {
        if (!(error instanceof VerificationError)) throw error;
        if (error.code === 'sizeMismatch') return stop('sizeMismatch', error.message);
        return { kind: 'retry', message: error.message };
      }
      this.#etag ??= etag;
      return this.#stream(response, end);
    }
    if (status === 416) {
      // Our offset is past the server's end: its artifact is not the one we were fetching.
      if (ranged && !this.#restartedAfter416) {
        this.#restartedAfter416 = true;
        return { kind: 'restart', message: `HTTP 416 for bytes=${this.#offset}-` };
      }
      return stop('httpStatus', `HTTP 416 ${ranged ? 'again after restarting' : 'without a Range request'}`, status);
    }
    if (RELOCATE_STATUSES.includes(status)) return stop('relocate', `HTTP ${status}: the download location is no longer valid`, status);
    if (status >= 500 || RETRYABLE_CLIENT_STATUSES.includes(status))
      return { kind: 'retry', message: `HTTP ${status}`, ...retryAfter(response.headers['retry-after']) };
    return stop('httpStatus', `HTTP ${status}`, status);
  }

  /** Streams the body into the sink until `end` (exclusive), hashing and checkpointing as it goes. */
  async #stream(response: HttpResponse, end: number): Promise<Outcome> {
    const o = this.#o;
    try {
      for await (const chunk of response.body) {
        if (o.signal?.aborted) return stop('aborted', 'aborted');
        if (chunk.length === 0) continue;
        this.#bytesTransferred += chunk.length;
        checkBudget(this.#bytesTransferred, o.byteBudget);
        if (this.#offset + chunk.length > o.size) return stop('sizeMismatch', `server sent more than the ${o.size} bytes of the artifact`);
        if (this.#offset + chunk.length > end) return { kind: 'retry', message: `body runs past its Content-Range end ${end - 1}` };
        try {
          await o.sink.write(this.#offset, chunk);
        } catch (error) {
          if (error instanceof SinkError) return { kind: 'restart', message: error.message };
          throw error;
        }
        this.#hash.update(chunk);
        this.#offset += chunk.length;
        o.onProgress?.(this.#offset, o.size);
        if (this.#offset - this.#checkpointed >= o.checkpointBytes) await this.#persist();
      }
    } catch (error) {
      if (error instanceof VerificationError && error.code === 'budgetExceeded') return stop('budgetExceeded', error.message);
      return this.#networkFailure(error);
    }
    if (this.#offset < end) return { kind: 'retry', message: `body ended at byte ${this.#offset}, expected ${end}` };
    return this.#offset >= o.size ? { kind: 'complete' } : { kind: 'continue' };
  }

  /** Network errors become outcomes; anything else (sink, store, power) is the device's and propagates. */
  #networkFailure(error: unknown): Outcome {
    if (!(error instanceof NetworkError)) throw error;
    if (error.code === 'aborted' || this.#o.signal?.aborted) return stop('aborted', 'aborted');
    // Resets, timeouts, refused connections, DNS and TLS trouble: all worth another attempt.
    return { kind: 'retry', message: `${error.code}: ${error.message}` };
  }

  /** Makes the current offset durable and records it, when it moved (or `force`). */
  async #persist(force = false): Promise<void> {
    if (!force && this.#offset === this.#checkpointed) return;
    await this.#o.sink.sync();
    const progress: DownloadProgress = {
      offset: this.#offset,
      hashState: this.#hash.exportState(),
      bytesTransferred: this.#bytesTransferred,
      attempts: this.#attempts,
    };
    if (this.#etag !== undefined) progress.etag = this.#etag;
    await this.#o.checkpoint(progress);
    this.#checkpointed = this.#offset;
  }

  /**
   * Drops every byte and starts over. The reset is checkpointed at once: otherwise a crash after
   * new bytes were synced would resume the old hash state over the new artifact's bytes.
   */
  async #restartFromZero(): Promise<void> {
    await this.#o.sink.truncate(0);
    this.#hash = this.#o.hasher.create();
    this.#offset = 0;
    this.#etag = undefined;
    await this.#persist(true);
    this.#o.onProgress?.(0, this.#o.size);
  }

  /** All bytes are in: make them durable, then the digest decides. */
  async #finish(): Promise<DownloadResult> {
    const o = this.#o;
    await o.sink.sync();
    const state = this.#hash.exportState();
    try {
      verifyDigest(o.digest, this.#hash.digest());
    } catch (error) {
      // No final checkpoint: resuming a refused artifact could only refuse it again.
      if (error instanceof VerificationError) return this.#fail({ code: 'digestMismatch', message: `${error.message} (${redactUrl(o.url)})` });
      throw error;
    }
    if (this.#checkpointed < o.size) {
      const progress: DownloadProgress = { offset: o.size, hashState: state, bytesTransferred: this.#bytesTransferred, attempts: this.#attempts };
      if (this.#etag !== undefined) progress.etag = this.#etag;
      await o.checkpoint(progress);
      this.#checkpointed = o.size;
    }
    return { ok: true, bytesTransferred: this.#bytesTransferred, attempts: this.#attempts };
  }

  #fail(s: Stop): DownloadResult {
    return { ok: false, ...s, bytesTransferred: this.#bytesTransferred, attempts: this.#attempts, retryable: RETRYABLE[s.code] };
  }

  #aborted(): DownloadResult {
    return this.#fail({ code: 'aborted', message: 'aborted' });
  }

  #exhausted(lastFailure: string): DownloadResult {
    return this.#fail({ code: 'attemptsExhausted', message: `gave up after ${this.#attempts} attempts; last failure: ${lastFailure}` });
  }

  #budget(): DownloadResult {
    const { byteBudget, size } = this.#o;
    return this.#fail({ code: 'budgetExceeded', message: `byte budget of ${byteBudget} spent (${this.#bytesTransferred} transferred) with ${size - this.#offset} bytes to go` });
  }
}

function stop(code: DownloadFailureCode, message: string, status?: number): Outcome {
  return { kind: 'stop', stop: status === undefined ? { code, message } : { code, message, status } };
}

/** `Retry-After` in delta-seconds (the HTTP-date form needs a trusted wall clock: ignored). */
function retryAfter(header: string | undefined): { retryAfterMs?: number } {
  if (header === undefined || !/^\s*\d{1,9}\s*$/.test(header)) return {};
  return { retryAfterMs: Number(header.trim()) * 1000 };
}

function printable(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function validateOptions(o: DownloadOptions): void {
  const fail = (what: string): never => {
    throw new InvalidOptionsError(`download: ${what}`);
  };
  if (typeof o !== 'object' || o === null) fail('options object required');
  if (typeof o.http?.request !== 'function') fail('http must be an HttpClient');
  if (typeof o.clock?.setTimer !== 'function') fail('clock must be a Clock');
  if (typeof o.hasher?.create !== 'function') fail('hasher must have create()');
  if (typeof o.sink?.write !== 'function') fail('sink must be a SinkHandle');
  if (typeof o.checkpoint !== 'function') fail('checkpoint must be a function');
  if (!Number.isSafeInteger(o.size) || o.size < 0) fail('size must be a byte count');
  if (!isSha256Hex(o.digest)) fail('digest must be 64 hex digits (SHA-256)');
  if (!Number.isSafeInteger(o.checkpointBytes) || o.checkpointBytes < 1) fail('checkpointBytes must be a positive integer');
  if (!Number.isSafeInteger(o.maxAttempts) || o.maxAttempts < 1) fail('maxAttempts must be a positive integer');
  if (!(typeof o.byteBudget === 'number' && o.byteBudget >= 0)) fail('byteBudget must be a number >= 0');
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) fail('timeoutMs must be a positive number');
  try {
    validatePolicy(o.backoff);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const from = o.resumeFrom;
  if (from !== undefined) {
    if (!Number.isSafeInteger(from.offset) || from.offset < 0) fail('resumeFrom.offset must be a byte count');
    if (!(from.hashState instanceof Uint8Array)) fail('resumeFrom.hashState must be a Uint8Array');
    if (!Number.isSafeInteger(from.bytesTransferred) || from.bytesTransferred < 0) fail('resumeFrom.bytesTransferred must be a byte count');
    if (!Number.isSafeInteger(from.attempts) || from.attempts < 0) fail('resumeFrom.attempts must be a count');
  }
}
