/**
 * Types and the typed error of delta apply (VCDIFF, bsdiff). Portable: the callbacks are how the
 * HAL (a slot, an installed package file, the pipeline's sink) or Node (the CLI) plug in.
 */

import type { Bzip2Block } from './bzip2.ts';

export type DeltaFormat = 'vcdiff' | 'bsdiff';

/**
 * Random-access reads. Returns fewer bytes than asked only at the end of the data. The bytes are
 * copied before the next call, so a reader may return a view of a buffer it reuses.
 *
 * `readInto`, when a reader has it, reads straight into `into` (engine memory: no copy, no
 * reader buffer) and returns how many bytes it read (fewer only at the end). The VCDIFF driver
 * calls it for several distinct ranges at once (a few in flight), so it must not share a buffer
 * between calls.
 */
export type RangeReader = ((offset: number, length: number) => Promise<Uint8Array> | Uint8Array) & {
  readInto?: (offset: number, into: Uint8Array) => Promise<number> | number;
};

/**
 * Receives the target in order. The chunk is only valid until the returned promise settles
 * (it may be a view of engine memory reused for the next chunk): copy it to keep it.
 */
export type DeltaSink = (chunk: Uint8Array) => Promise<void> | void;

export interface DeltaApplyOptions {
  /** Detected from the magic bytes when omitted. */
  format?: DeltaFormat;
  /**
   * Most bytes one VCDIFF window may hold in memory (source segment + target window + its
   * encoded sections); larger windows are refused with `windowTooLarge`. Default 64 MiB + 8 MiB
   * (xdelta3's default source and target window sizes).
   */
  windowBudget?: number;
  /** SHA-256 the whole source must have; checked (a full read) before anything is written. */
  sourceSha256?: Uint8Array;
  /** Size of the source, for bsdiff bound checks and the source digest check. */
  sourceSize?: number;
  /** SHA-256 the result must have; `targetMismatch` otherwise (the sink has then seen bytes). */
  targetSha256?: Uint8Array;
}

export interface DeltaResult {
  format: DeltaFormat;
  bytesWritten: number;
  /** SHA-256 of everything written to the sink. */
  sha256: Uint8Array;
  /** Largest number of bytes held at once for windows / blocks (for the memory bound). */
  peakWindowBytes: number;
}

export type DeltaErrorCode =
  | 'truncated' // the patch ends early
  | 'corrupt' // malformed patch: bad magic, bad sizes, instructions that do not fit, bad CRC
  | 'unsupported' // valid but not supported here (secondary compressors, custom code tables, …)
  | 'windowTooLarge' // a window needs more memory than the budget
  | 'checksumMismatch' // VCDIFF Adler-32 or bzip2 CRC of decoded data is wrong (wrong source or corrupt patch)
  | 'sourceMismatch' // the source does not have the expected digest, or is too short for the patch
  | 'targetMismatch' // the result does not have the expected digest
  | 'invalidOptions';

/** Bad patch, wrong source or bad options. Message text never contains patch or file contents. */
export class DeltaError extends Error {
  readonly code: DeltaErrorCode;
  constructor(code: DeltaErrorCode, message: string) {
    super(message);
    this.name = 'DeltaError';
    this.code = code;
  }
}

/**
 * One engine's VCDIFF window executor (the JS engine's). `prepare` returns writable views for
 * the inputs (valid until the next prepare); the source view still holds the previous window's
 * source bytes (the driver reuses the overlap of consecutive segments). `run` executes the
 * instructions and returns the target window view or a status code (VCDIFF_STATUS) on failure;
 * that view stays valid (prepare does not touch it) until the next run.
 */
export interface VcdiffWindowEngine {
  readonly sparse?: false;
  prepare(sourceLength: number, dataLength: number, instLength: number, addrLength: number, targetLength: number): {
    source: Uint8Array;
    data: Uint8Array;
    inst: Uint8Array;
    addr: Uint8Array;
  };
  run(): Uint8Array | number;
  /** Adler-32 of the target window produced by the last successful run. */
  adler32(): number;
}

/** Source bytes a window copies: (start, end, at) triples, segment offsets [start, end) go to `held[at…]`. */
export interface SourcePlan {
  ranges: Uint32Array;
  held: Uint8Array;
}

/**
 * A VCDIFF window executor that reads only the source bytes the window copies (the WASM engine,
 * wasm/assembly/delta-ranges.ts): prepare → write the sections → `scan` (the status run would
 * return, or the plan) → read the plan's ranges → run. With `keepPrevious`, the last run's target
 * stays intact until the next run; `previous()` is a fresh view of it (memory may have grown).
 */
export interface SparseWindowEngine {
  readonly sparse: true;
  prepare(sourceLength: number, dataLength: number, instLength: number, addrLength: number, targetLength: number, keepPrevious: boolean): { data: Uint8Array; inst: Uint8Array; addr: Uint8Array };
  previous(): Uint8Array;
  scan(): SourcePlan | number;
  run(): Uint8Array | number;
  adler32(): number;
}

/**
 * One engine's bsdiff primitives: the add loop `diff[i] = diff[i] + old[i]` mod 256 over views
 * from `prepare` (the diff view also receives extra-block bytes), and the bzip2 block decoders of
 * the patch's three streams (0 control, 1 diff, 2 extra). The driver starts all three streams
 * (Bzip2Reader.start) before it takes the first view, so engine memory no longer grows after.
 */
export interface BsdiffAddEngine {
  prepare(length: number): { diff: Uint8Array; old: Uint8Array };
  add(length: number): Uint8Array;
  blocks(stream: 0 | 1 | 2): Bzip2Block;
}

export interface DeltaEngine {
  vcdiff(): VcdiffWindowEngine | SparseWindowEngine;
  bsdiff(): BsdiffAddEngine;
}

/** Status codes of a window run, shared by wasm/assembly/delta.ts and wasm/src/vcdiff-js.ts. */
export const VCDIFF_STATUS = {
  ok: 0,
  outOfMemory: 1,
  instOverflow: 2,
  dataOverflow: 3,
  addrOverflow: 4,
  badAddress: 5,
  targetOverflow: 6,
  targetShort: 7,
  sectionsLeft: 8,
  badInstruction: 9,
} as const;

const STATUS_TEXT: Record<number, string> = {
  1: 'out of memory for the window',
  2: 'instruction section ends inside an instruction',
  3: 'ADD/RUN reads past the data section',
  4: 'address section exhausted or malformed',
  5: 'COPY address not before the current position',
  6: 'instructions overrun the target window',
  7: 'instructions end before the target window is full',
  8: 'data or address bytes left over after the instructions',
  9: 'invalid instruction',
};

export function windowStatusError(status: number, windowIndex: number): DeltaError {
  return new DeltaError('corrupt', `VCDIFF window ${windowIndex}: ${STATUS_TEXT[status] ?? `status ${status}`}`);
}
