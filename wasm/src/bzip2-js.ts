/**
 * The JS engine's bzip2 block decoder (the WASM engine's is wasm/assembly/delta-bzip2.ts, the same
 * algorithm and status order): Huffman/MTF/RLE2 → BWT vector, inverse BWT, RLE1 output with its
 * CRC. The vector grows with the block, up to the declared block size (small patches stay small).
 */
import { BZ_STATUS, bzip2Crc, bzip2Error, type Bzip2Block } from './bzip2.ts';

const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 18002;

export class JsBzip2Block implements Bzip2Block {
  used = 0;
  bits = 0;
  live = 0;
  private input: Uint8Array = new Uint8Array(0);
  private blockMax = 0;
  private tt: Uint32Array = new Uint32Array(0);
  // Output state of the current block.
  private left = 0; // BWT bytes not yet produced
  private tPos = 0;
  private last = -1;
  private runLength = 0;
  private repeat = 0; // copies of `last` still owed (RLE1 count byte)
  private crc = 0;
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

  start(blockMax: number): void {
    this.blockMax = blockMax;
  }

  decode(input: Uint8Array, bits: number, live: number, origPtr: number): void {
    this.input = input;
    this.used = 0;
    this.bits = bits;
    this.live = live;
    const nblock = this.decodeBlock(this.blockMax);
    if (origPtr >= nblock) throw bzip2Error(BZ_STATUS.badOrigin);
    this.inverseBwt(nblock, origPtr);
  }

  done(): boolean {
    return this.left === 0 && this.repeat === 0;
  }

  blockCrc(): number {
    return this.crc;
  }

  private getBits(n: number): number {
    while (this.live < n) {
      if (this.used >= this.input.length) throw bzip2Error(BZ_STATUS.truncated);
      this.bits = (this.bits << 8) | (this.input[this.used++] as number);
      this.live += 8;
    }
    this.live -= n;
    return (this.bits >>> this.live) & ((1 << n) - 1);
  }

  private decodeBlock(blockMax: number): number {
    // Symbol map.
    let nInUse = 0;
    const used = this.getBits(16);
    for (let i = 0; i < 16; i++) {
      if (used & (0x8000 >> i)) {
        const group = this.getBits(16);
        for (let j = 0; j < 16; j++) if (group & (0x8000 >> j)) this.seqToUnseq[nInUse++] = i * 16 + j;
      }
    }
    if (nInUse === 0) throw bzip2Error(BZ_STATUS.emptyMap);
    const alpha = nInUse + 2;
    const nGroups = this.getBits(3);
    if (nGroups < 2 || nGroups > MAX_GROUPS) throw bzip2Error(BZ_STATUS.badGroups);
    const nSelectors = this.getBits(15);
    if (nSelectors < 1) throw bzip2Error(BZ_STATUS.noSelectors);
    // Selectors, MTF-coded; like bzip2 1.0.8, read but ignore those past MAX_SELECTORS.
    const pos = [0, 1, 2, 3, 4, 5];
    for (let i = 0; i < nSelectors; i++) {
      let j = 0;
      while (this.getBits(1)) if (++j >= nGroups) throw bzip2Error(BZ_STATUS.badSelector);
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
          if (len < 1 || len > MAX_CODE_LEN) throw bzip2Error(BZ_STATUS.badCodeLength);
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
        if (selector >= selectorCount) throw bzip2Error(BZ_STATUS.selectorsExhausted);
        g = this.selectors[selector++] as number;
        groupLeft = GROUP_SIZE;
      }
      groupLeft--;
      const tab = g * (MAX_CODE_LEN + 2);
      let zn = this.minLen[g] as number;
      const zmax = this.maxLen[g] as number;
      let zvec = this.getBits(zn);
      while (zvec > (limit[tab + zn] as number)) {
        if (++zn > zmax) throw bzip2Error(BZ_STATUS.badCode);
        zvec = (zvec << 1) | this.getBits(1);
      }
      const index = zvec - (base[tab + zn] as number);
      if (index < 0 || index >= alpha) throw bzip2Error(BZ_STATUS.badCode);
      const sym = perm[g * MAX_ALPHA + index] as number;
      if (sym <= 1) {
        // RUNA/RUNB: bijective base-2 run length of the front symbol.
        if (runN === 0) runN = 1;
        run += sym === 0 ? runN : 2 * runN;
        runN *= 2;
        if (run > blockMax) throw bzip2Error(BZ_STATUS.runTooLong);
        continue;
      }
      if (runN !== 0) {
        const uc = seqToUnseq[mtf[0] as number] as number;
        if (nblock + run > blockMax) throw bzip2Error(BZ_STATUS.blockTooLong);
        if (nblock + run > tt.length) tt = this.growTt(nblock + run);
        unzftab[uc] = (unzftab[uc] as number) + run;
        tt.fill(uc, nblock, nblock + run);
        nblock += run;
        runN = 0;
        run = 0;
      }
      if (sym === eob) break;
      if (nblock >= blockMax) throw bzip2Error(BZ_STATUS.blockTooLong);
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
  }

  /**
   * Undoes the BWT and the initial run-length coding into `into` from `at`; returns the new end.
   * Runs are filled at once and the CRC is taken over what was produced in one pass afterwards
   * (bytewise CRC and run bytes cost most of the time on bsdiff's zero-heavy diff block).
   */
  produce(into: Uint8Array, at: number): number {
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
    if (at > start) this.crc = bzip2Crc(into.subarray(start, at), this.crc);
    return at;
  }
}
