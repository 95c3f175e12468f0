/**
 * How the VCDIFF driver (./vcdiff-apply.ts) gets a window's source bytes: the whole segment
 * (JS engine: reusing what the buffer still holds from the previous window) or only the ranges
 * the window copies (WASM engine: ./delta-wasm.ts scan), read straight into engine memory when
 * the reader has `readInto`, a few ranges in flight at once.
 */
import { readFully, readSource } from './delta-input.ts';
import { DeltaError, type RangeReader, type SourcePlan } from './delta-types.ts';

export interface Held {
  position: number;
  length: number;
}

const short = (what: string, end: number): DeltaError => new DeltaError('sourceMismatch', `VCDIFF ${what}: source is shorter than the patch needs (${end} bytes)`);

/**
 * Fills the source segment view. xdelta3's windows name overlapping segments (up to its 64 MiB
 * source window each), so the part the buffer still holds from the previous window is moved into
 * place (engines keep the segment's bytes across prepare) and only the rest is read.
 */
export async function fillSegment(source: RangeReader, view: Uint8Array, position: number, held: Held, what: string): Promise<void> {
  const end = position + view.length;
  const from = Math.max(position, held.position);
  const to = Math.min(end, held.position + held.length);
  // The held bytes start where the view starts but may run past its end (a shorter new segment).
  const wide = Math.max(view.length, held.length);
  if (from >= to || view.byteOffset + wide > view.buffer.byteLength) {
    if ((await readSource(source, position, view)) < view.length) throw short(what, end);
    return;
  }
  new Uint8Array(view.buffer, view.byteOffset, wide).copyWithin(from - position, from - held.position, to - held.position);
  if (from > position && (await readSource(source, position, view.subarray(0, from - position))) < from - position) throw short(what, end);
  if (to < end && (await readSource(source, to, view.subarray(to - position))) < end - to) throw short(what, end);
}

/**
 * The check fillSegment makes by reading the whole segment, for a driver that reads only part of
 * it: the source must reach the segment's end (a shorter source is the wrong source, whatever
 * bytes this window happens to copy).
 */
export async function checkSegmentEnd(source: RangeReader, position: number, length: number, what: string): Promise<void> {
  if (length === 0) return;
  const last = await source(position + length - 1, 1);
  if (!(last instanceof Uint8Array) || last.length > 1) throw new DeltaError('invalidOptions', 'source reader returned something other than the bytes asked for');
  if (last.length < 1) throw short(what, position + length);
}

/** Reads are issued in pieces of at most this (so a few lanes share a large range). */
const PIECE = 4 * 1024 * 1024;
/** Reads in flight at once through `readInto` (Node's thread pool has four threads). */
const LANES = 4;

/** Reads the plan's ranges of the segment at `position` into the held region. */
export async function readPlan(source: RangeReader, position: number, plan: SourcePlan, what: string): Promise<void> {
  const { ranges, held } = plan;
  const pieces: [number, Uint8Array][] = [];
  for (let k = 0; k + 2 < ranges.length; k += 3) {
    const start = ranges[k] as number;
    const end = ranges[k + 1] as number;
    const at = ranges[k + 2] as number;
    for (let p = start; p < end; p += PIECE) pieces.push([position + p, held.subarray(at + p - start, at + Math.min(end, p + PIECE) - start)]);
  }
  const readInto = source.readInto;
  if (readInto === undefined) {
    for (const [offset, into] of pieces) if ((await readSource(source, offset, into)) < into.length) throw short(what, offset + into.length);
    return;
  }
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < pieces.length && !failed) {
      const [offset, into] = pieces[next++] as [number, Uint8Array];
      try {
        if ((await readFully(readInto, offset, into)) < into.length) throw short(what, offset + into.length);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(LANES, pieces.length) }, lane);
  // Every lane settles before the error (if any) is thrown: none writes after the apply ends.
  const outcomes = await Promise.allSettled(lanes);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}
