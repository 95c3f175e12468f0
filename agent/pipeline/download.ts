/**
 * The download stage of the shared update pipeline: fetch one artifact into a sink with HTTP
 * Range resume, hash it while it streams, and refuse it unless the SHA-256 matches.
 *
 * Durability: progress is checkpointed (offset + exported hash state) only after `sink.sync()`,
 * so a recorded offset always names durable bytes. A later run (after a reset, or a reboot)
 * truncates the sink back to that offset — bytes after it may be torn — and continues hashing
 * from the saved state. A hash that cannot export its state (the host's native engine) is
 * checkpointed with an empty state instead, and a resume re-hashes the durable bytes once
 * (reading them back from the sink). Transient failures keep what did arrive (sync, checkpoint)
 * and retry from there after an exponential backoff on the HAL clock.
 *
 * Checkpoint policy (the durability promise): a checkpoint is taken once at least
 * `checkpointBytes` arrived since the last one *and* at least `checkpointMs` passed (whichever
 * comes later). On a sink that syncs while writing (a staging file) the sync runs behind the
 * stream, and the next checkpoint, when due, waits for it: a power cut costs at most two
 * intervals, 2 × max(checkpointBytes, what arrives in checkpointMs), plus the write queue
 * (`chunkBytes × (queueDepth + 1)`) of progress, never correctness; elsewhere one interval.
 *
 * Pipeline: socket → hash → write run concurrently (./write-queue.ts): each chunk is hashed on
 * arrival and queued for the sink, and the socket is read again while the disk writes. Memory:
 * about `chunkBytes × (queueDepth + 1)` plus one network chunk; the artifact is never buffered.
 * Room for the whole artifact is reserved in the sink once, not checked per write.
 *
 * What is a result and what throws: every network or server outcome is a `DownloadResult`.
 * Failures of the device itself (sink or store I/O, a power cut, invalid options) throw: they are
 * not the server's fault and the state machine around us handles them.
 */
import { NetworkError } from '../../hal/errors.ts';
import type { HttpResponse } from '../../hal/types.ts';
import { AbortedError, sleep } from '../util/sleep.ts';
import { backoffDelay } from './backoff.ts';
import {
  DEFAULT_CHUNK_BYTES,
  defaultQueueDepth,
  REHASH_BYTES,
  type DownloadHash,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  validateOptions,
} from './download-options.ts';
import { SinkError } from './sinks.ts';
import { WriteQueue } from './write-queue.ts';
import { VerificationError, checkBudget, checkContentRange, checkDownloadUrl, printable, verifyDigest } from './verify.ts';
import { redactUrl } from '../util/redact.ts';
import { type Outcome, RELOCATE_STATUSES, RETRYABLE, RETRYABLE_CLIENT_STATUSES, type Stop, retryAfter, stop } from './download-outcome.ts';

export * from './download-options.ts';

/** What the stream loop holds between chunks. */
const NO_BYTES = new Uint8Array(0);
const ABORTED: Stop = { code: 'aborted', message: 'aborted' };

/**
 * Not async: the run's own promise is returned as it is (it validates the options first), so no
 * frame of ours waits on it while the body streams (each async frame in flight costs the small
 * QuickJS board ~0.3 KB of heap, and a download nests several).
 */
export function download(options: DownloadOptions): Promise<DownloadResult> {
  return new DownloadRun(options).run();
}

class DownloadRun {
  readonly #o: DownloadOptions;
  #hash!: DownloadHash;
  #offset = 0;
  /** Offset of the last checkpoint (durable, recorded). */
  #checkpointed = 0;
  /**
   * Where the next checkpoint is counted from (offset and HAL monotonic time): the end of the last
   * one taken in the stream, or the *start* of one running behind it, so that a slow sync cannot
   * stretch the interval (see #pump).
   */
  #dueOffset = 0;
  #dueAt = 0;
  /** The writes of the body being streamed, if one is. */
  #queue: WriteQueue | undefined;
  /** A checkpoint whose sync runs behind the stream (sinks with `syncWhileWriting`); one at a time. */
  #behind: Promise<void> | undefined;
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
    validateOptions(o);
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
      if (o.signal?.aborted) return this.#fail(ABORTED);
      if (this.#bytesTransferred >= o.byteBudget)
        return this.#fail({ code: 'budgetExceeded', message: `byte budget of ${o.byteBudget} spent (${this.#bytesTransferred} transferred) with ${o.size - this.#offset} bytes to go` });
      if (!continuing) {
        if (this.#attempts >= o.maxAttempts) return this.#exhausted(lastFailure);
        this.#attempts++;
      }
      // One GET from the current offset, streamed into the sink. Awaited here rather than in a
      // frame of its own: one async frame less in flight while the body streams.
      const ranged = this.#offset > 0;
      const sent = await this.#send(ranged);
      let outcome: Outcome;
      if (!('status' in sent)) outcome = sent;
      else {
        try {
          outcome = await this.#answer(sent, ranged);
        } finally {
          sent.cancel(); // idempotent; releases the connection on every early exit
        }
      }
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
          if (error instanceof AbortedError) return this.#fail(ABORTED);
          throw error;
        }
      }
    }
    return this.#finish();
  }

  /** Picks up the persisted progress, or starts from an empty sink. */
  async #start(): Promise<void> {
    const o = this.#o;
    this.#dueAt = o.clock.monotonicMs();
    // Room for the whole artifact, once: writes then need no capacity check of their own.
    await o.sink.reserve?.(o.size);
    const from = o.resumeFrom;
    if (from) {
      this.#bytesTransferred = from.bytesTransferred;
      this.#attempts = from.attempts;
      const rehash = from.hashState.length === 0;
      let hash: DownloadHash | undefined;
      try {
        hash = o.hasher.create(rehash ? undefined : from.hashState);
      } catch {
        hash = undefined; // a state this engine cannot read (corrupt, other format): start over
      }
      // A state that did not absorb exactly the recorded bytes belongs to other progress: unusable.
      if (hash && (rehash || hash.bytesHashed === from.offset) && from.offset <= o.size) {
        try {
          // Bytes after the checkpoint may be torn (written but not synced when power went).
          await o.sink.truncate(from.offset);
          if (rehash) await this.#rehash(hash, from.offset);
          this.#hash = hash;
          this.#offset = this.#checkpointed = this.#dueOffset = from.offset;
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

  /**
   * Feeds the sink's durable bytes below `end` to `hash` (resume after a non-exportable hash), in
   * pieces no larger than the board's chunk: a 1 MiB read was twice the small QuickJS board's heap.
   */
  async #rehash(hash: DownloadHash, end: number): Promise<void> {
    const piece = Math.min(REHASH_BYTES, this.#o.chunkBytes ?? REHASH_BYTES);
    for (let at = 0; at < end; ) {
      const bytes = await this.#o.sink.read(at, Math.min(piece, end - at));
      if (bytes.length === 0) throw new SinkError('cannotResume', `sink ends at ${at}, checkpoint says ${end}`);
      hash.update(bytes);
      at += bytes.length;
    }
  }

  /** One GET from the current offset: its answer, or the network failure that stopped it. */
  async #send(ranged: boolean): Promise<HttpResponse | Outcome> {
    const o = this.#o;
    const headers: Record<string, string> = { ...o.headers };
    if (ranged) {
      headers['range'] = `bytes=${this.#offset}-`;
      // If-Range needs a strong validator (RFC 9110 §13.1.5); the server then answers 200 with the
      // whole new artifact instead of splicing its bytes onto ours.
      if (this.#etag !== undefined && !this.#etag.startsWith('W/')) headers['if-range'] = this.#etag;
    }
    try {
      return await o.http.request({ method: 'GET', url: o.url, headers, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (error) {
      return this.#networkFailure(error);
    }
  }

  /**
   * What an answer means, and the stream of its body. Not async: the stream's own promise is
   * returned as it is, so no extra frame waits on it while the body streams (each async frame in
   * flight costs a small board's heap).
   */
  #answer(response: HttpResponse, ranged: boolean): Promise<Outcome> | Outcome {
    const o = this.#o;
    const status = response.status;
    const etag = response.headers['etag'];
    if (status === 200) {
      const length = response.headers['content-length'];
      if (length !== undefined && length.trim() !== String(o.size))
        return stop('sizeMismatch', `server sends ${printable(length)} bytes, expected ${o.size}`);
      // The server ignored our Range or If-Range said the artifact changed: this body is the
      // whole (possibly new) artifact, so our bytes are worthless.
      const stream = () => {
        this.#etag = etag;
        return this.#stream(response, o.size);
      };
      return this.#offset > 0 ? this.#restartFromZero().then(stream) : stream();
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

  /**
   * Streams the body into the sink until `end` (exclusive), hashing and checkpointing as it goes.
   * Every write of this body has landed or failed when it returns (nothing races a truncate). One
   * frame for the loop and its cleanup: this is the innermost frame alive while the body streams.
   */
  async #stream(response: HttpResponse, end: number): Promise<Outcome> {
    const o = this.#o;
    const chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const queue = new WriteQueue(o.sink, chunkBytes, o.queueDepth ?? defaultQueueDepth(chunkBytes));
    this.#queue = queue;
    let outcome: Outcome | undefined;
    try {
      try {
        for await (let chunk of response.body) {
          if (o.signal?.aborted) {
            outcome = stop('aborted', 'aborted');
            break;
          }
          if (chunk.length === 0) continue;
          this.#bytesTransferred += chunk.length;
          checkBudget(this.#bytesTransferred, o.byteBudget);
          if (this.#offset + chunk.length > o.size) {
            outcome = stop('sizeMismatch', `server sent more than the ${o.size} bytes of the artifact`);
            break;
          }
          if (this.#offset + chunk.length > end) {
            outcome = { kind: 'retry', message: `body runs past its Content-Range end ${end - 1}` };
            break;
          }
          this.#hash.update(chunk);
          queue.add(this.#offset, chunk);
          this.#offset += chunk.length;
          // Let the chunk go before awaiting the disk and the next read: the queue and the sink keep
          // what they still need (on QuickJS nothing: the bridge copied it), so an idle stream holds no chunk.
          chunk = NO_BYTES;
          o.onProgress?.(this.#offset, o.size);
          // A checkpoint is due once enough bytes *and* enough time passed since the last one (whichever comes later).
          const ms = o.checkpointMs ?? 0;
          if (this.#offset - this.#dueOffset >= o.checkpointBytes && (ms <= 0 || o.clock.monotonicMs() - this.#dueAt >= ms)) {
            if (o.sink.syncWhileWriting) {
              // The previous sync still runs when the next checkpoint is due: wait for it. This keeps
              // the progress a power cut can lose to two intervals, and the stream at the speed the
              // disk makes bytes durable (a sync that never catches up would otherwise cover the
              // whole artifact, and leave it all for the final sync).
              await this.#settleBehind();
              await this.#checkpointBehind(queue);
            } else await this.#persist();
          } else await queue.room(); // back-pressure: the next chunk waits for the disk
          }
      } catch (error) {
        if (error instanceof SinkError) outcome = { kind: 'restart', message: error.message };
        else if (error instanceof VerificationError && error.code === 'budgetExceeded') outcome = stop('budgetExceeded', error.message);
        else outcome = this.#networkFailure(error);
      }
      outcome ??= this.#offset < end ? { kind: 'retry', message: `body ended at byte ${this.#offset}, expected ${end}` } : this.#offset >= o.size ? { kind: 'complete' } : { kind: 'continue' };
    } catch (error) {
      await queue.settle();
      await this.#settleBehind().catch(() => undefined); // the first failure is the one to report
      throw error;
    } finally {
      this.#queue = undefined;
    }
    await this.#settleBehind();
    // Bytes after a stop or a retry are still worth keeping: write them (a later #persist syncs).
    if (outcome.kind !== 'restart') await queue.drain().catch(() => undefined);
    const failure = await queue.settle();
    if (failure) {
      if (failure.error instanceof SinkError) return { kind: 'restart', message: failure.error.message };
      throw failure.error;
    }
    return outcome;
  }

  /** Network errors become outcomes; anything else (sink, store, power) is the device's and propagates. */
  #networkFailure(error: unknown): Outcome {
    if (!(error instanceof NetworkError)) throw error;
    if (error.code === 'aborted' || this.#o.signal?.aborted) return stop('aborted', 'aborted');
    // Resets, timeouts, refused connections, DNS and TLS trouble: all worth another attempt.
    return { kind: 'retry', message: `${error.code}: ${error.message}` };
  }

  /** The state to persist: empty when the engine cannot export it (a resume re-hashes the sink). */
  #exportState(): Uint8Array {
    return this.#hash.exportable === false ? new Uint8Array(0) : this.#hash.exportState();
  }

  /** The progress to record for the current offset (every byte below it is in the sink). */
  #progressNow(): DownloadProgress {
    const progress: DownloadProgress = {
      offset: this.#offset,
      hashState: this.#exportState(),
      bytesTransferred: this.#bytesTransferred,
      attempts: this.#attempts,
    };
    if (this.#etag !== undefined) progress.etag = this.#etag;
    return progress;
  }

  /**
   * Syncs, then records `progress` (whose bytes were all written before the sync began). One taken
   * in the stream (`behind` false) counts the next interval from its end: no byte arrives while it runs.
   */
  async #commit(progress: DownloadProgress, behind = false): Promise<void> {
    await this.#o.sink.sync();
    await this.#o.checkpoint(progress);
    this.#checkpointed = progress.offset;
    if (!behind) {
      this.#dueOffset = progress.offset;
      this.#dueAt = this.#o.clock.monotonicMs();
    }
  }

  /** Makes the current offset durable and records it, when it moved (or `force`). */
  async #persist(force = false): Promise<void> {
    await this.#settleBehind();
    if (!force && this.#offset === this.#checkpointed) return;
    // Every byte below the offset must be in the sink before the sync that makes it durable.
    await this.#queue?.drain();
    await this.#commit(this.#progressNow());
  }

  /**
   * A checkpoint that does not stop the stream: the progress is taken once every byte below the
   * offset is written, then the sync (an fsync: the disk's write speed, the slowest step of a
   * download on most hosts) and the store record run while later bytes arrive and are written.
   * A sync also covers bytes written after it began, which is harmless: the record names only
   * the offset taken before it.
   */
  async #checkpointBehind(queue: WriteQueue): Promise<void> {
    await queue.drain();
    const progress = this.#progressNow();
    this.#dueOffset = progress.offset;
    this.#dueAt = this.#o.clock.monotonicMs();
    const run = this.#commit(progress, true);
    this.#behind = run;
    // Cleared when done; a failure stays until #settleBehind() rethrows it.
    run.then(
      () => {
        if (this.#behind === run) this.#behind = undefined;
      },
      () => undefined,
    );
  }

  /** Waits for a checkpoint running behind the stream; rethrows its failure. */
  async #settleBehind(): Promise<void> {
    const behind = this.#behind;
    if (!behind) return;
    try {
      await behind;
    } finally {
      if (this.#behind === behind) this.#behind = undefined;
    }
  }

  /**
   * Drops every byte and starts over. The reset is checkpointed at once: otherwise a crash after
   * new bytes were synced would resume the old hash state over the new artifact's bytes.
   */
  async #restartFromZero(): Promise<void> {
    await this.#settleBehind();
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
    await this.#settleBehind();
    // Every byte is hashed (the offset is the size): the final progress and the digest are taken, and
    // the hash (on QuickJS the bridge's proxy of the host engine's) is let go of before the sync
    // and the final checkpoint, the peak of a small board's download.
    const progress = this.#progressNow();
    const digest = this.#hash.digest();
    this.#hash = undefined as never;
    await o.sink.sync();
    try {
      verifyDigest(o.digest, digest);
    } catch (error) {
      // No final checkpoint: resuming a refused artifact could only refuse it again.
      if (error instanceof VerificationError) return this.#fail({ code: 'digestMismatch', message: `${error.message} (${redactUrl(o.url)})` });
      throw error;
    }
    if (this.#checkpointed < o.size) {
      await o.checkpoint(progress);
      this.#checkpointed = o.size;
    }
    return { ok: true, bytesTransferred: this.#bytesTransferred, attempts: this.#attempts };
  }

  #fail(s: Stop): DownloadResult {
    return { ok: false, ...s, bytesTransferred: this.#bytesTransferred, attempts: this.#attempts, retryable: RETRYABLE[s.code] };
  }

  #exhausted(lastFailure: string): DownloadResult {
    return this.#fail({ code: 'attemptsExhausted', message: `gave up after ${this.#attempts} attempts; last failure: ${lastFailure}` });
  }
}
