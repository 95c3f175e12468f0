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


export function validateOptions(o: DownloadOptions): void {
  const fail = (what: string): never => {
    throw new InvalidOptionsError(`download: ${what}`);
  };
  const count = (value: unknown, min = 0): boolean => Number.isSafeInteger(value) && (value as number) >= min;
  if (typeof o !== 'object' || o === null) fail('options object required');
  if (typeof o.http?.request !== 'function') fail('http must be an HttpClient');
  if (typeof o.clock?.setTimer !== 'function') fail('clock must be a Clock');
  if (typeof o.hasher?.create !== 'function') fail('hasher must have create()');
  if (typeof o.sink?.write !== 'function') fail('sink must be a SinkHandle');
  if (typeof o.checkpoint !== 'function') fail('checkpoint must be a function');
  if (!count(o.size)) fail('size must be a byte count');
  if (!isSha256Hex(o.digest)) fail('digest must be 64 hex digits (SHA-256)');
  // The positive integers, checked by name (one check, not one per option); `?`: may be absent.
  for (const name of ['checkpointBytes', 'chunkBytes?', 'queueDepth?', 'maxAttempts'] as const) {
    const key = name.replace('?', '') as 'checkpointBytes' | 'chunkBytes' | 'queueDepth' | 'maxAttempts';
    if (!(o[key] === undefined && name !== key) && !count(o[key], 1)) fail(`${key} must be a positive integer`);
  }
  if (o.checkpointMs !== undefined && !(Number.isFinite(o.checkpointMs) && o.checkpointMs >= 0)) fail('checkpointMs must be a number >= 0');
  if (!(typeof o.byteBudget === 'number' && o.byteBudget >= 0)) fail('byteBudget must be a number >= 0');
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) fail('timeoutMs must be a positive number');
  try {
    validatePolicy(o.backoff);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const from = o.resumeFrom;
  if (from !== undefined) {
    if (!count(from.offset)) fail('resumeFrom.offset must be a byte count');
    if (!(from.hashState instanceof Uint8Array)) fail('resumeFrom.hashState must be a Uint8Array');
    if (!count(from.bytesTransferred)) fail('resumeFrom.bytesTransferred must be a byte count');
    if (!count(from.attempts)) fail('resumeFrom.attempts must be a count');
  }
}
