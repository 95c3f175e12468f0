/**
 * The disk end of the download pipeline: network chunks are hashed as they arrive and handed
 * here; this batches them into writes of about `chunkBytes` and keeps at most `depth` batches in
 * flight, one sink write after another (a firmware slot compares and programs in order). The
 * producer awaits `room()` before taking the next network chunk, which pauses the socket when
 * the disk falls behind (back-pressure), so memory stays below `chunkBytes × (depth + 1)` plus
 * one network chunk while network, hashing and disk run concurrently.
 *
 * Network chunks smaller than a batch are copied into one of `depth + 1` reused buffers of
 * `chunkBytes` (a batch is flushed before a chunk would make it longer); a sink does not keep
 * `bytes` once its write settled (files write from it, flash and the mock copy). A 256 KiB batch
 * of 64 KiB socket reads then allocates nothing, where a fresh buffer per batch was garbage that
 * only a collection returns (RSS).
 *
 * The first failed write stops every later one; it is thrown by the next `room()` or `drain()`.
 */
import type { SinkHandle } from './sinks.ts';

export class WriteQueue {
  readonly #sink: SinkHandle;
  readonly #chunkBytes: number;
  readonly #depth: number;
  /** Bytes taken but not yet queued, and where they start. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingOffset = 0;
  /** Batches queued for the sink, in order; the first one is being written. */
  readonly #batches: Batch[] = [];
  #error: { error: unknown } | undefined;
  /** What `room()`, `drain()` and `settle()` wait on: resolved when a write settles. */
  #settled: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Batch buffers whose write settled, ready for the next batch (at most depth + 1 are kept). */
  readonly #free: Uint8Array[] = [];
  // Bound once: a write in flight costs its own promise and nothing else (no closure, no async
  // frame per write: each costs a small board's heap while the chunk streams).
  readonly #written = (): void => this.#next();
  readonly #failed = (error: unknown): void => {
    this.#error ??= { error };
    this.#next();
  };
  readonly #checkRoom = (): void => this.#throwIfFailed();

  constructor(sink: SinkHandle, chunkBytes: number, depth: number) {
    this.#sink = sink;
    this.#chunkBytes = chunkBytes;
    this.#depth = depth;
  }

  /** Takes `bytes` for `offset` (which must follow the previous bytes). The caller keeps no reference. */
  add(offset: number, bytes: Uint8Array): void {
    // A batch never grows past a chunk (so it fits a reused buffer) unless one network chunk is larger.
    if (this.#pendingBytes > 0 && this.#pendingBytes + bytes.length > this.#chunkBytes) this.#flush();
    if (this.#pendingBytes === 0) this.#pendingOffset = offset;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    // Flushed as soon as another chunk of this size would not fit (the batch is the same one the
    // next add would flush), so a nearly full batch is not held while the network reads the next.
    if (this.#pendingBytes + bytes.length > this.#chunkBytes) this.#flush();
  }

  /**
   * Resolves once fewer than `depth` batches are in flight; throws the first write failure. Not
   * async: with room to spare it answers at once, and a producer that waits holds one promise.
   */
  room(): Promise<void> | undefined {
    this.#throwIfFailed();
    // One write settling makes room: the producer is the only one adding batches.
    return this.#batches.length < this.#depth ? undefined : this.#wait().then(this.#checkRoom);
  }

  /** Writes everything taken so far; throws the first write failure. */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#batches.length > 0) await this.#wait();
    this.#throwIfFailed();
  }

  /** Waits until no write is in flight and drops what was not written; returns the first failure, if any. */
  async settle(): Promise<{ error: unknown } | undefined> {
    this.#pending = [];
    this.#pendingBytes = 0;
    while (this.#batches.length > 0) await this.#wait();
    return this.#error;
  }

  #wait(): Promise<void> {
    return (this.#settled ??= new Promise<void>((resolve) => (this.#wake = resolve)));
  }

  #flush(): void {
    if (this.#pendingBytes === 0) return;
    // One network chunk is written as it is; several (at most a chunk together) are copied into a reused buffer.
    const pooled = this.#pending.length === 1 ? undefined : (this.#free.pop() ?? new Uint8Array(this.#chunkBytes));
    const bytes = pooled ? concatInto(pooled, this.#pending) : (this.#pending[0] as Uint8Array);
    this.#batches.push({ offset: this.#pendingOffset, bytes, pooled });
    this.#pending = [];
    this.#pendingBytes = 0;
    // The first batch starts at once; later ones when the write before them settled (a slot programs in order).
    if (this.#batches.length === 1) this.#write();
  }

  /** Starts the first batch's write; after a failure, every later batch is dropped unwritten. */
  #write(): void {
    const batch = this.#batches[0];
    if (!batch) return;
    if (this.#error) return this.#next();
    let written: Promise<void>;
    try {
      written = this.#sink.write(batch.offset, batch.bytes as Uint8Array);
    } catch (error) {
      written = Promise.reject(error);
    }
    // The reference is dropped once the sink has it: a sink that copies (the QuickJS bridge) lets
    // a network chunk go while its write is in flight; one that keeps it holds its own.
    batch.bytes = undefined;
    written.then(this.#written, this.#failed);
  }

  /** The first batch's write settled (or was dropped): recycle its buffer, wake the waiters, start the next. */
  #next(): void {
    const batch = this.#batches.shift();
    if (batch?.pooled && this.#free.length <= this.#depth) this.#free.push(batch.pooled);
    const wake = this.#wake;
    this.#wake = this.#settled = undefined;
    wake?.();
    this.#write();
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error.error;
  }
}

interface Batch {
  offset: number;
  /** Dropped once the sink has it. */
  bytes: Uint8Array | undefined;
  /** The queue's own buffer the bytes were copied into (several network chunks), recycled after the write. */
  pooled: Uint8Array | undefined;
}

/** Copies `parts` one after another into `into`; returns the filled prefix. */
function concatInto(into: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  let at = 0;
  for (const part of parts) {
    into.set(part, at);
    at += part.length;
  }
  return into.subarray(0, at);
}
