/**
 * Sequential, buffered reading of a patch through a RangeReader, between `start` and an optional
 * `limit` (bsdiff reads three blocks of one file). `fill(n)` makes n bytes available from `pos`
 * (fewer only at the end); parsers then read `buf[pos++]` synchronously, which keeps the hot
 * loops free of awaits. The buffer holds at most what the largest fill asked for plus one chunk.
 */
import { DeltaError, type RangeReader } from './delta-types.ts';

const CHUNK = 64 * 1024;

export class PatchInput {
  buf = new Uint8Array(0);
  pos = 0;
  end = 0;
  private next: number;
  private eof = false;

  constructor(
    private readonly read: RangeReader,
    start = 0,
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {
    this.next = start;
  }

  /** File offset of buf[pos]. */
  get offset(): number {
    return this.next - (this.end - this.pos);
  }

  /** Ensures `n` bytes from pos (fewer only at the end); returns how many are available. */
  async fill(n: number): Promise<number> {
    if (this.end - this.pos >= n || this.eof) return this.end - this.pos;
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end < n && !this.eof) {
      // Grow as bytes arrive (not to n up front): a small patch keeps a small buffer even when a
      // parser asks for its worst case.
      if (this.buf.length - this.end < CHUNK) {
        const bigger = new Uint8Array(Math.max(this.end + CHUNK, Math.min(this.buf.length * 2, n + CHUNK)));
        bigger.set(this.buf.subarray(0, this.end));
        this.buf = bigger;
      }
      const want = Math.min(this.buf.length - this.end, this.limit - this.next);
      if (want <= 0) {
        this.eof = true;
        break;
      }
      const chunk = await this.read(this.next, want);
      if (!(chunk instanceof Uint8Array) || chunk.length > want) throw new DeltaError('invalidOptions', 'patch reader returned something other than the bytes asked for');
      this.buf.set(chunk, this.end);
      this.end += chunk.length;
      this.next += chunk.length;
      if (chunk.length < want) this.eof = true;
    }
    return this.end - this.pos;
  }

  async need(n: number, what: string): Promise<void> {
    if ((await this.fill(n)) < n) throw new DeltaError('truncated', `patch ends inside ${what}`);
  }

  async atEnd(): Promise<boolean> {
    return (await this.fill(1)) === 0;
  }

  /** Copies the next `into.length` bytes into `into` (straight from the reader past the buffer). */
  async readInto(into: Uint8Array, what: string): Promise<void> {
    const buffered = Math.min(into.length, this.end - this.pos);
    into.set(this.buf.subarray(this.pos, this.pos + buffered));
    this.pos += buffered;
    let at = buffered;
    while (at < into.length) {
      const want = Math.min(into.length - at, this.limit - this.next);
      const chunk = want > 0 ? await this.read(this.next, want) : new Uint8Array(0);
      if (!(chunk instanceof Uint8Array) || chunk.length > want) throw new DeltaError('invalidOptions', 'patch reader returned something other than the bytes asked for');
      if (chunk.length === 0) throw new DeltaError('truncated', `patch ends inside ${what}`);
      into.set(chunk, at);
      at += chunk.length;
      this.next += chunk.length;
    }
  }

  /** Skips `n` bytes without holding them all. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const have = await this.fill(Math.min(left, CHUNK));
      if (have === 0) throw new DeltaError('truncated', `patch ends inside ${what}`);
      const k = Math.min(have, left);
      this.pos += k;
      left -= k;
    }
  }
}

/** Reads `into.length` bytes at `offset` through `readInto`; returns how many there were (fewer at the end). */
export async function readFully(readInto: NonNullable<RangeReader['readInto']>, offset: number, into: Uint8Array): Promise<number> {
  let at = 0;
  while (at < into.length) {
    const got = await readInto(offset + at, into.subarray(at));
    if (!Number.isSafeInteger(got) || got < 0 || got > into.length - at) throw new DeltaError('invalidOptions', 'source reader returned something other than the bytes asked for');
    if (got === 0) break;
    at += got;
  }
  return at;
}

/**
 * Reads exactly `into.length` source bytes at `offset` (straight into `into` when the reader
 * has readInto, else in pieces of at most `piece`); returns how many the source had (fewer at
 * its end).
 */
export async function readSource(read: RangeReader, offset: number, into: Uint8Array, piece = 256 * 1024): Promise<number> {
  if (read.readInto !== undefined) return readFully(read.readInto, offset, into);
  let at = 0;
  while (at < into.length) {
    const want = Math.min(piece, into.length - at);
    const chunk = await read(offset + at, want);
    if (!(chunk instanceof Uint8Array) || chunk.length > want) throw new DeltaError('invalidOptions', 'source reader returned something other than the bytes asked for');
    into.set(chunk, at);
    at += chunk.length;
    if (chunk.length < want) break;
  }
  return at;
}
