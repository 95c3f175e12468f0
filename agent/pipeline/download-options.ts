/**
 * The download stage's public shapes (options, progress, results, defaults) and the validation
 * of its options, apart from the stage itself (./download.ts) so each stays one idea.
 */
import { InvalidOptionsError } from '../../hal/errors.ts';
import type { AbortSignalLike, Clock, HttpClient } from '../../hal/types.ts';
import type { StreamingHash } from '../../wasm/index.ts';
import { validatePolicy, type BackoffPolicy } from './backoff.ts';
import type { SinkHandle } from './sinks.ts';
import { isSha256Hex } from './verify.ts';

/** What the stage uses of a streaming SHA-256 (native, WASM or JS engine of wasm/index.ts). */
export type DownloadHash = Pick<StreamingHash, 'update' | 'digest' | 'exportState' | 'bytesHashed' | 'exportable'>;

/** Defaults of the pipeline's shape (the board's `downloadChunkBytes` overrides the chunk). */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
/**
 * Default checkpoint policy of the families (README "Durability"): a power cut costs at most
 * max(1 MiB, one second of transfer) plus the write queue. Each checkpoint is an fsync of the
 * sink plus a store record, so checkpointing by bytes alone at line rate cost ~20 % of a download.
 */
export const DEFAULT_CHECKPOINT_BYTES = 1024 * 1024;
export const DEFAULT_CHECKPOINT_MS = 1000;
export const DEFAULT_QUEUE_DEPTH = 4;

/**
 * Sink writes in flight when the caller names no depth: DEFAULT_QUEUE_DEPTH at the default chunk,
 * fewer for a board whose chunk is smaller (a board reads in small chunks to save memory, so the
 * writes in flight shrink with it), down to one, which still overlaps the network with the disk.
 * On the small QuickJS board (8 KiB chunks) four writes in flight held 32 KiB of its heap.
 */
export function defaultQueueDepth(chunkBytes: number): number {
  return Math.max(1, Math.min(DEFAULT_QUEUE_DEPTH, Math.floor((DEFAULT_QUEUE_DEPTH * chunkBytes) / DEFAULT_CHUNK_BYTES)));
}
/** Bytes read back per step when a native hash is rebuilt from the sink on resume. */
export const REHASH_BYTES = 1024 * 1024;

/** `create()` starts a SHA-256, `create(state)` continues an exported one (e.g. `engines.createHash('sha256', state)`). */
export interface HasherFactory {
  create(state?: Uint8Array): DownloadHash;
}

export interface DownloadProgress {
  /** Bytes of the artifact durable in the sink and absorbed by `hashState`. */
  offset: number;
  /** Exported hash state; empty when the hash could not export it (re-hash the sink's bytes on resume). */
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
  /** Persist progress once this many bytes arrived since the last checkpoint (and `checkpointMs` passed). */
  checkpointBytes: number;
  /** ... and once this much HAL-clock time passed since the last checkpoint (default 0: bytes alone decide). */
  checkpointMs?: number;
  /** Bytes per sink write (the board's `downloadChunkBytes`; default 64 KiB). */
  chunkBytes?: number;
  /** Sink writes in flight at most (default `defaultQueueDepth(chunkBytes)`): memory is about chunkBytes × (queueDepth + 1). */
  queueDepth?: number;
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


/**
 * Refuses options the stage cannot run with (`InvalidOptionsError`, before any request). The checks
 * are data, one loop each (a QuickJS board keeps every check's code for the agent's life):
 * `name` must be a function, `name#` a count (>= 0), `name+` a positive count, `name?` a positive
 * count or absent; `a.b` is a member of `a`.
 */
export function validateOptions(o: DownloadOptions): void {
  if (typeof o !== 'object' || o === null) throw new InvalidOptionsError('download: options object required');
  const from = o.resumeFrom;
  let wrong = !isSha256Hex(o.digest) ? 'digest must be 64 hex digits (SHA-256)' : undefined;
  const checks = 'http.request clock.setTimer hasher.create sink.write checkpoint size# checkpointBytes+ maxAttempts+ chunkBytes? queueDepth?';
  for (const check of (from === undefined ? checks : `${checks} resumeFrom.offset# resumeFrom.bytesTransferred# resumeFrom.attempts#`).split(' ')) {
    const kind = check.slice(-1);
    const name = '#+?'.includes(kind) ? check.slice(0, -1) : check;
    const [first = '', member] = name.split('.');
    const value: unknown = member === undefined ? o[first as keyof DownloadOptions] : (o[first as keyof DownloadOptions] as Record<string, unknown> | undefined)?.[member];
    const count = Number.isSafeInteger(value) && (value as number) >= (kind === '#' ? 0 : 1);
    if (kind === '?' ? value !== undefined && !count : name === check ? typeof value !== 'function' : !count) wrong ??= `${name} must be ${name === check ? 'a function' : kind === '#' ? 'a count' : 'a positive integer'}`;
  }
  if (o.checkpointMs !== undefined && !(Number.isFinite(o.checkpointMs) && o.checkpointMs >= 0)) wrong ??= 'checkpointMs must be a number >= 0';
  if (!(typeof o.byteBudget === 'number' && o.byteBudget >= 0)) wrong ??= 'byteBudget must be a number >= 0';
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) wrong ??= 'timeoutMs must be a positive number';
  if (from !== undefined && !(from.hashState instanceof Uint8Array)) wrong ??= 'resumeFrom.hashState must be a Uint8Array';
  try {
    validatePolicy(o.backoff);
  } catch (error) {
    wrong ??= error instanceof Error ? error.message : String(error);
  }
  if (wrong !== undefined) throw new InvalidOptionsError(`download: ${wrong}`);
}
