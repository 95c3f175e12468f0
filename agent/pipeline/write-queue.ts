/**
 * The disk end of the download pipeline: network chunks are hashed as they arrive and handed
 * here; this batches them into writes of about `chunkBytes` and keeps at most `depth` batches in
 * flight, one sink write after another (a firmware slot compares and programs in order). The
 * producer awaits `room()` before taking the next network chunk, which pauses the socket when
 * the disk falls behind (back-pressure), so memory stays below `chunkBytes × (depth + 1)` plus
 * one network chunk while network, hashing and disk run concurrently.
 *
 * The first failed write stops every later one; it is thrown by the next `room()` or `drain()`.
 */
import { concatBytes } from '../util/bytes.ts';
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

  constructor(sink: SinkHandle, chunkBytes: number, depth: number) {
    this.#sink = sink;
    this.#chunkBytes = chunkBytes;
    this.#depth = depth;
  }

  /** Takes `bytes` for `offset` (which must follow the previous bytes). The caller keeps no reference. */
  add(offset: number, bytes: Uint8Array): void {
    if (this.#pendingBytes === 0) this.#pendingOffset = offset;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes >= this.#chunkBytes) this.#flush();
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
    const batch = this.#pending.length === 1 ? (this.#pending[0] as Uint8Array) : concatBytes(this.#pending);
    const offset = this.#pendingOffset;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#inFlight++;
    this.#tail = this.#tail.then(async () => {
      try {
        if (!this.#error) await this.#sink.write(offset, batch);
      } catch (error) {
        this.#error = { error };
      } finally {
        this.#inFlight--;
        const wake = this.#wake;
        this.#wake = undefined;
        wake?.();
      }
    });
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error.error;
  }
}

