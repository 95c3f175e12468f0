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
 * only a collection returns (RSS). Below the default chunk (the small boards' 8 KiB: a QuickJS
 * heap frees a buffer the moment its last reference goes) a batch gets a buffer of its own that
 * goes once the sink has it: reused ones stayed in the heap for the whole download, two 8 KiB
 * buffers of a 512 KiB board's heap, between jobs that did not need them.
 *
 * The first failed write stops every later one; it is thrown by the next `room()` or `drain()`.
 */
import { DEFAULT_CHUNK_BYTES } from './download-options.ts';
import type { SinkHandle } from './sinks.ts';

export class WriteQueue {
  readonly #sink: SinkHandle;
  readonly #chunkBytes: number;
  readonly #depth: number;
  /** Bytes taken but not yet queued, and where they start. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingOffset = 0;
  #inFlight = 0;
  #tail: Promise<void> = Promise.resolve();
  #error: { error: unknown } | undefined;
  #wake: (() => void) | undefined;
  /** Batch buffers whose write settled, ready for the next batch (at most depth + 1 are kept); undefined: none are kept. */
  readonly #free: Uint8Array[] | undefined;

  constructor(sink: SinkHandle, chunkBytes: number, depth: number) {
    this.#sink = sink;
    this.#chunkBytes = chunkBytes;
    this.#depth = depth;
    this.#free = chunkBytes < DEFAULT_CHUNK_BYTES ? undefined : [];
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

  /** Resolves once fewer than `depth` batches are in flight; throws the first write failure. */
  async room(): Promise<void> {
    while (this.#inFlight >= this.#depth && !this.#error) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#throwIfFailed();
  }

  /** Writes everything taken so far; throws the first write failure. */
  async drain(): Promise<void> {
    this.#flush();
    await this.#tail;
    this.#throwIfFailed();
  }

  /** Waits until no write is in flight and drops what was not written; returns the first failure, if any. */
  async settle(): Promise<{ error: unknown } | undefined> {
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#tail;
    return this.#error;
  }

  #flush(): void {
    if (this.#pendingBytes === 0) return;
    // One network chunk is written as it is; several (at most a chunk together) are copied into a reused buffer.
    const single = this.#pending.length === 1;
    const pooled = single || !this.#free ? undefined : (this.#free.pop() ?? new Uint8Array(this.#chunkBytes));
    let batch: Uint8Array | undefined = single ? this.#pending[0] : concatInto(pooled ?? new Uint8Array(this.#pendingBytes), this.#pending);
    const offset = this.#pendingOffset;
    this.#pending = [];
    this.#pendingBytes = 0;
    // With nothing in flight the write starts at once, so the sink has the chunk (the QuickJS
    // bridge copies it) before the producer's job ends: no job boundary of the small board's heap
    // holds a network chunk while its write is in flight.
    const write = async () => {
      try {
        if (this.#error) return;
        // The reference is dropped once the sink has it: a sink that copies (the QuickJS bridge)
        // lets a network chunk go while its write is in flight; one that keeps it holds its own.
        const written = this.#sink.write(offset, batch as Uint8Array);
        batch = undefined;
        await written;
      } catch (error) {
        this.#error = { error };
      } finally {
        if (pooled && this.#free!.length <= this.#depth) this.#free!.push(pooled);
        this.#inFlight--;
        const wake = this.#wake;
        this.#wake = undefined;
        wake?.();
      }
    };
    this.#tail = this.#inFlight++ === 0 ? write() : this.#tail.then(write);
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error.error;
  }
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
