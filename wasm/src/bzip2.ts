/**
 * Streaming bzip2 decoder (written here, portable TS, no dependency): one stream, block by block,
 * output produced on demand so a block's run-length expansion is never held whole. Before a block
 * is decoded its worst-case compressed size is buffered (PatchInput.fill), so the bit reader and
 * the Huffman/MTF/BWT loops are synchronous. Memory: the compressed block (≤ ~2.3 MB), the BWT
 * vector (4 bytes × block size ≤ 3.6 MB). Every block CRC and the stream CRC are verified.
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

const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 18002;

function corrupt(what: string): DeltaError {
  return new DeltaError('corrupt', `bzip2: ${what}`);
}

export class Bzip2Reader {
  private bits = 0;
  private live = 0;
  private blockMax = 0;
  private started = false;
  private done = false;
  private tt: Uint32Array = new Uint32Array(0);
  private combined = 0;
  // Output state of the current block.
  private left = 0; // BWT bytes not yet produced
  private tPos = 0;
  private last = -1;
  private runLength = 0;
  private repeat = 0; // copies of `last` still owed (RLE1 count byte)
  private crc = 0;
  private blockCrc = 0;
  private inBlock = false;
  // Decode tables, allocated once.
  private readonly lengths = new Uint8Array(MAX_GROUPS * MAX_ALPHA);
  private readonly limit = new Int32Array(MAX_GROUPS * (MAX_CODE_LEN + 2));
  private readonly base = new Int32Array(MAX_GROUPS * (MAX_CODE_LEN + 2));
  private readonly perm = new Int32Array(MAX_GROUPS * MAX_ALPHA);
  private readonly minLen = new Int32Array(MAX_GROUPS);
  private readonly maxLen = new Int32Array(MAX_GROUPS);
  private readonly selectors = new Uint8Array(MAX_SELECTORS);
  private readonly unzftab = new Int32Array(256);
  private readonly cftab = new Int32Array(257);
  private readonly seqToUnseq = new Uint8Array(256);
  private readonly mtf = new Uint8Array(256);

  constructor(
    private readonly input: PatchInput,
    private readonly crcUpdate: CrcUpdate = bzip2Crc,
  ) {}

  /** Fills `into` completely unless the stream ends first; returns the bytes written. */
  async read(into: Uint8Array): Promise<number> {
    let at = 0;
    while (at < into.length) {
      if (!this.inBlock) {
        if (this.done) break;
        await this.nextBlock();
        continue;
      }
      at = this.produce(into, at);
      if (this.left === 0 && this.repeat === 0) this.finishBlock();
    }
    return at;
  }

  private getBits(n: number): number {
    const input = this.input;
    while (this.live < n) {
      if (input.pos >= input.end) throw new DeltaError('truncated', 'patch ends inside a bzip2 stream');
      this.bits = (this.bits << 8) | (input.buf[input.pos++] as number);
      this.live += 8;
    }
    this.live -= n;
    return (this.bits >>> this.live) & ((1 << n) - 1);
  }

  private async nextBlock(): Promise<void> {
    if (!this.started) {
      await this.input.fill(4);
      const magic = this.getBits(24);
      const level = this.getBits(8) - 0x30;
      if (magic !== 0x425a68 || level < 1 || level > 9) throw corrupt('bad stream header');
      this.blockMax = level * 100000;
      this.started = true;
    }
    // Worst case of one block: 20 bits per symbol plus tables.
    await this.input.fill(Math.ceil((this.blockMax + 2) * 2.5) + 8192);
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
    const nblock = this.decodeBlock();
    if (origPtr >= nblock) throw corrupt('BWT origin out of range');
    this.inverseBwt(nblock, origPtr);
  }

  private decodeBlock(): number {
    // Symbol map.
    let nInUse = 0;
    const used = this.getBits(16);
    for (let i = 0; i < 16; i++) {
      if (used & (0x8000 >> i)) {
        const group = this.getBits(16);
        for (let j = 0; j < 16; j++) if (group & (0x8000 >> j)) this.seqToUnseq[nInUse++] = i * 16 + j;
      }
    }
    if (nInUse === 0) throw corrupt('empty symbol map');
    const alpha = nInUse + 2;
    const nGroups = this.getBits(3);
    if (nGroups < 2 || nGroups > MAX_GROUPS) throw corrupt('bad Huffman group count');
    const nSelectors = this.getBits(15);
    if (nSelectors < 1) throw corrupt('no selectors');
    // Selectors, MTF-coded; like bzip2 1.0.8, read but ignore those past MAX_SELECTORS.
    const pos = [0, 1, 2, 3, 4, 5];
    for (let i = 0; i < nSelectors; i++) {
      let j = 0;
      while (this.getBits(1)) if (++j >= nGroups) throw corrupt('bad selector');
      const v = pos[j] as number;
      for (; j > 0; j--) pos[j] = pos[j - 1] as number;
      pos[0] = v;
      if (i < MAX_SELECTORS) this.selectors[i] = v;
    }
    const selectorCount = Math.min(nSelectors, MAX_SELECTORS);
    // Code lengths (delta-coded) and decode tables.
    for (let g = 0; g < nGroups; g++) {
      let len = this.getBits(5);
      let lo = 32;
      let hi = 0;
      for (let s = 0; s < alpha; s++) {
        for (;;) {
          if (len < 1 || len > MAX_CODE_LEN) throw corrupt('bad code length');
          if (!this.getBits(1)) break;
          len += this.getBits(1) ? -1 : 1;
        }
        this.lengths[g * MAX_ALPHA + s] = len;
        if (len < lo) lo = len;
        if (len > hi) hi = len;
      }
      this.makeTables(g, alpha, lo, hi);
    }
    // Huffman → MTF/RLE2 → bytes into tt (low 8 bits).
    const { unzftab, mtf, seqToUnseq, limit, base, perm } = this;
    let tt = this.tt;
    unzftab.fill(0);
    for (let i = 0; i < 256; i++) mtf[i] = i;
    const eob = nInUse + 1;
    let nblock = 0;
    let groupLeft = 0;
    let selector = 0;
    let g = 0;
    let runN = 0;
    let run = 0;
    for (;;) {
      if (groupLeft === 0) {
        if (selector >= selectorCount) throw corrupt('selectors exhausted');
        g = this.selectors[selector++] as number;
        groupLeft = GROUP_SIZE;
      }
      groupLeft--;
      const tab = g * (MAX_CODE_LEN + 2);
      let zn = this.minLen[g] as number;
      const zmax = this.maxLen[g] as number;
      let zvec = this.getBits(zn);
      while (zvec > (limit[tab + zn] as number)) {
        if (++zn > zmax) throw corrupt('bad Huffman code');
        zvec = (zvec << 1) | this.getBits(1);
      }
      const index = zvec - (base[tab + zn] as number);
      if (index < 0 || index >= alpha) throw corrupt('bad Huffman code');
      const sym = perm[g * MAX_ALPHA + index] as number;
      if (sym <= 1) {
        // RUNA/RUNB: bijective base-2 run length of the front symbol.
        if (runN === 0) runN = 1;
        run += sym === 0 ? runN : 2 * runN;
        runN *= 2;
        if (run > this.blockMax) throw corrupt('run longer than the block');
        continue;
      }
      if (runN !== 0) {
        const uc = seqToUnseq[mtf[0] as number] as number;
        if (nblock + run > this.blockMax) throw corrupt('block longer than declared');
        if (nblock + run > tt.length) tt = this.growTt(nblock + run);
        unzftab[uc] = (unzftab[uc] as number) + run;
        tt.fill(uc, nblock, nblock + run);
        nblock += run;
        runN = 0;
        run = 0;
      }
      if (sym === eob) break;
      if (nblock >= this.blockMax) throw corrupt('block longer than declared');
      if (nblock >= tt.length) tt = this.growTt(nblock + 1);
      const k = sym - 1;
      const v = mtf[k] as number;
      mtf.copyWithin(1, 0, k);
      mtf[0] = v;
      const uc = seqToUnseq[v] as number;
      unzftab[uc] = (unzftab[uc] as number) + 1;
      tt[nblock++] = uc;
    }
    return nblock;
  }

  /** The BWT vector grows with the block (small patches stay small), up to the declared block size. */
  private growTt(n: number): Uint32Array {
    const bigger = new Uint32Array(Math.min(this.blockMax, Math.max(n, this.tt.length * 2, 4096)));
    bigger.set(this.tt);
    this.tt = bigger;
    return bigger;
  }

  private makeTables(g: number, alpha: number, lo: number, hi: number): void {
    const { lengths, limit, base, perm } = this;
    const lp = g * MAX_ALPHA;
    const tab = g * (MAX_CODE_LEN + 2);
    let pp = 0;
    for (let i = lo; i <= hi; i++) for (let j = 0; j < alpha; j++) if (lengths[lp + j] === i) perm[lp + pp++] = j;
    const count = new Int32Array(MAX_CODE_LEN + 2);
    for (let j = 0; j < alpha; j++) { const c = (lengths[lp + j] as number) + 1; count[c] = (count[c] as number) + 1; }
    for (let i = 1; i < MAX_CODE_LEN + 2; i++) count[i] = (count[i] as number) + (count[i - 1] as number);
    let vec = 0;
    for (let i = lo; i <= hi; i++) {
      vec += (count[i + 1] as number) - (count[i] as number);
      limit[tab + i] = vec - 1;
      vec <<= 1;
    }
    base[tab + lo] = count[lo] as number;
    for (let i = lo + 1; i <= hi; i++) base[tab + i] = (((limit[tab + i - 1] as number) + 1) << 1) - (count[i] as number);
    this.minLen[g] = lo;
    this.maxLen[g] = hi;
  }

  private inverseBwt(nblock: number, origPtr: number): void {
    const { tt, cftab, unzftab } = this;
    cftab[0] = 0;
    for (let i = 0; i < 256; i++) cftab[i + 1] = (cftab[i] as number) + (unzftab[i] as number);
    for (let i = 0; i < nblock; i++) {
      const uc = (tt[i] as number) & 0xff;
      const at = cftab[uc] as number;
      tt[at] = ((tt[at] as number) | (i << 8)) >>> 0;
      cftab[uc] = at + 1;
    }
    this.tPos = (tt[origPtr] as number) >>> 8;
    this.left = nblock;
    this.last = -1;
    this.runLength = 0;
    this.repeat = 0;
    this.crc = 0xffffffff;
    this.inBlock = true;
  }

  /**
   * Undoes the BWT and the initial run-length coding into `into` from `at`; returns the new end.
   * Runs are filled at once and the CRC is taken over what was produced in one pass afterwards
   * (bytewise CRC and run bytes cost most of the time on bsdiff's zero-heavy diff block).
   */
  private produce(into: Uint8Array, at: number): number {
    const tt = this.tt;
    const start = at;
    let { tPos, left, last, runLength, repeat } = this;
    const end = into.length;
    while (at < end) {
      if (repeat > 0) {
        const n = Math.min(repeat, end - at);
        into.fill(last, at, at + n);
        at += n;
        repeat -= n;
        continue;
      }
      if (left === 0) break;
      const t = tt[tPos] as number;
      const ch = t & 0xff;
      tPos = t >>> 8;
      left--;
      if (runLength === 4) {
        repeat = ch;
        runLength = 0;
        continue;
      }
      if (ch === last) runLength++;
      else {
        last = ch;
        runLength = 1;
      }
      into[at++] = ch;
    }
    this.tPos = tPos;
    this.left = left;
    this.last = last;
    this.runLength = runLength;
    this.repeat = repeat;
    if (at > start) this.crc = this.crcUpdate(into.subarray(start, at), this.crc);
    return at;
  }

  private finishBlock(): void {
    const crc = ~this.crc >>> 0;
    if (crc !== this.blockCrc) throw new DeltaError('checksumMismatch', 'bzip2: block CRC mismatch');
    this.combined = (((this.combined << 1) | (this.combined >>> 31)) ^ crc) >>> 0;
    this.inBlock = false;
  }
}
