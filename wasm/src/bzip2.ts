/**
 * Streaming bzip2 decoder (written here, no dependency): one stream, block by block, output
 * produced on demand so a block's run-length expansion is never held whole. This file is the
 * stream framing shared by both engines (stream header, block headers, block and stream CRCs);
 * each engine decodes the blocks (Bzip2Block: wasm/src/bzip2-js.ts, or wasm/assembly/delta-bzip2.ts
 * through wasm/src/delta-wasm.ts). Before a block is decoded its worst-case compressed size is
 * buffered (PatchInput.fill), so the block decoder is synchronous. Memory: the compressed block
 * (≤ ~2.3 MB), the BWT vector (4 bytes × block size ≤ 3.6 MB). Every CRC is verified.
 */
import type { PatchInput } from './delta-input.ts';
import { DeltaError } from './delta-types.ts';

/** CRC-32 (MSB-first, 0x04c11db7) slicing-by-8 tables: table t is a byte followed by t zero bytes. */
const CRC_TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  for (let i = 256; i < 8 * 256; i++) {
    const prev = t[i - 256] as number;
    t[i] = ((prev << 8) ^ (t[prev >>> 24] as number)) >>> 0;
  }
  return t;
})();

/** Continues bzip2's running CRC (not inverted) over `bytes`. An engine may run it in place. */
export type CrcUpdate = (bytes: Uint8Array, crc: number) => number;

/** The portable CRC update (wasm/assembly/delta-sums.ts crc32Of is the same, in WASM). */
export function bzip2Crc(bytes: Uint8Array, crc: number): number {
  const t = CRC_TABLES;
  const n = bytes.length;
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    const x = (crc ^ (((bytes[k] as number) << 24) | ((bytes[k + 1] as number) << 16) | ((bytes[k + 2] as number) << 8) | (bytes[k + 3] as number))) >>> 0;
    crc = (t[1792 + (x >>> 24)] as number) ^ (t[1536 + ((x >>> 16) & 0xff)] as number) ^ (t[1280 + ((x >>> 8) & 0xff)] as number) ^ (t[1024 + (x & 0xff)] as number) ^
      (t[768 + (bytes[k + 4] as number)] as number) ^ (t[512 + (bytes[k + 5] as number)] as number) ^ (t[256 + (bytes[k + 6] as number)] as number) ^ (t[bytes[k + 7] as number] as number);
  }
  for (; k < n; k++) crc = (crc << 8) ^ (t[((crc >>> 24) ^ (bytes[k] as number)) & 0xff] as number);
  return crc >>> 0;
}

/** Status codes of a block decode, shared with wasm/assembly/delta-bzip2.ts. */
export const BZ_STATUS = {
  ok: 0,
  outOfMemory: 1,
  truncated: 2,
  emptyMap: 3,
  badGroups: 4,
  noSelectors: 5,
  badSelector: 6,
  badCodeLength: 7,
  selectorsExhausted: 8,
  badCode: 9,
  runTooLong: 10,
  blockTooLong: 11,
  badOrigin: 12,
} as const;

const STATUS_TEXT: Record<number, string> = {
  3: 'empty symbol map',
  4: 'bad Huffman group count',
  5: 'no selectors',
  6: 'bad selector',
  7: 'bad code length',
  8: 'selectors exhausted',
  9: 'bad Huffman code',
  10: 'run longer than the block',
  11: 'block longer than declared',
  12: 'BWT origin out of range',
};

export function bzip2Error(status: number): DeltaError {
  if (status === BZ_STATUS.truncated) return new DeltaError('truncated', 'patch ends inside a bzip2 stream');
  if (status === BZ_STATUS.outOfMemory) return new DeltaError('windowTooLarge', 'bzip2: block does not fit WASM memory');
  return new DeltaError('corrupt', `bzip2: ${STATUS_TEXT[status] ?? `status ${status}`}`);
}

/**
 * One engine's decoder of one stream's blocks. `decode` reads from `input` (the buffered patch
 * from the block's first byte) continuing the bit state (bits, live) and leaves the state after
 * the block in used/bits/live; it throws bzip2Error. `produce` fills `into` from `at` and returns
 * the new end, continuing the block's CRC (blockCrc, not inverted).
 */
export interface Bzip2Block {
  readonly used: number;
  readonly bits: number;
  readonly live: number;
  start(blockMax: number): void;
  decode(input: Uint8Array, bits: number, live: number, origPtr: number): void;
  produce(into: Uint8Array, at: number): number;
  done(): boolean;
  blockCrc(): number;
}

function corrupt(what: string): DeltaError {
  return new DeltaError('corrupt', `bzip2: ${what}`);
}

export class Bzip2Reader {
  private bits = 0;
  private live = 0;
  private blockMax = 0;
  private started = false;
  private done = false;
  private combined = 0;
  private blockCrc = 0;
  private inBlock = false;

  constructor(
    private readonly input: PatchInput,
    private readonly block: Bzip2Block,
  ) {}

  /** Reads the stream header (the block size it declares sizes the engine's buffers). */
  async start(): Promise<void> {
    if (this.started) return;
    await this.input.fill(4);
    const magic = this.getBits(24);
    const level = this.getBits(8) - 0x30;
    if (magic !== 0x425a68 || level < 1 || level > 9) throw corrupt('bad stream header');
    this.blockMax = level * 100000;
    this.block.start(this.blockMax);
    this.started = true;
  }

  /** Fills `into` completely unless the stream ends first; returns the bytes written. */
  async read(into: Uint8Array): Promise<number> {
    let at = 0;
    while (at < into.length) {
      if (!this.inBlock) {
        if (this.done) break;
        await this.nextBlock();
        continue;
      }
      at = this.block.produce(into, at);
      if (this.block.done()) this.finishBlock();
    }
    return at;
  }

  private getBits(n: number): number {
    const input = this.input;
    while (this.live < n) {
      if (input.pos >= input.end) throw bzip2Error(BZ_STATUS.truncated);
      this.bits = (this.bits << 8) | (input.buf[input.pos++] as number);
      this.live += 8;
    }
    this.live -= n;
    return (this.bits >>> this.live) & ((1 << n) - 1);
  }

  private async nextBlock(): Promise<void> {
    await this.start();
    await this.input.fill(bzip2BlockBound(this.blockMax));
    const hi = this.getBits(24);
    const lo = this.getBits(24);
    if (hi === 0x177245 && lo === 0x385090) {
      const stored = ((this.getBits(16) << 16) | this.getBits(16)) >>> 0;
      if (stored !== this.combined) throw new DeltaError('checksumMismatch', 'bzip2: stream CRC mismatch');
      this.done = true;
      return;
    }
    if (hi !== 0x314159 || lo !== 0x265359) throw corrupt('bad block magic');
    this.blockCrc = ((this.getBits(16) << 16) | this.getBits(16)) >>> 0;
    if (this.getBits(1)) throw new DeltaError('unsupported', 'bzip2: randomised blocks (bzip2 < 0.9.5) are not supported');
    const origPtr = this.getBits(24);
    const input = this.input;
    const block = this.block;
    // At most the bound, whatever else is buffered, so both engines see the same bytes.
    block.decode(input.buf.subarray(input.pos, Math.min(input.end, input.pos + bzip2BlockBound(this.blockMax))), this.bits, this.live, origPtr);
    input.pos += block.used;
    this.bits = block.bits;
    this.live = block.live;
    this.inBlock = true;
  }

  private finishBlock(): void {
    const crc = ~this.block.blockCrc() >>> 0;
    if (crc !== this.blockCrc) throw new DeltaError('checksumMismatch', 'bzip2: block CRC mismatch');
    this.combined = (((this.combined << 1) | (this.combined >>> 31)) ^ crc) >>> 0;
    this.inBlock = false;
  }
}

/**
 * Most compressed bytes one block of `blockMax` can take (what nextBlock buffers before decoding):
 * 20 bits per symbol, plus the tables (32767 selectors of up to 6 bits, 6 × 258 code lengths).
 */
export function bzip2BlockBound(blockMax: number): number {
  return Math.ceil((blockMax + 2) * 2.5) + 40960;
}
