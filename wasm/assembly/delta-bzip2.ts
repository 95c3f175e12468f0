/**
 * bzip2 block decoding for bsdiff's three streams: Huffman/MTF/RLE2 → BWT vector, the inverse BWT,
 * and the RLE1 output with its CRC. The same algorithm, limits and status order as the JS
 * engine's block decoder (wasm/src/bzip2-js.ts); stream framing (headers, block CRCs, the
 * stream CRC) stays in wasm/src/bzip2.ts, shared by both engines.
 *
 * Why in WASM: on the 64 MiB bsdiff bench entry the JS Huffman decode and the BWT walk were most
 * of the apply. Memory: per stream slot its BWT vector (4 bytes × declared block size), laid out
 * after the bsdiff add regions (ADD_MAX each); one scratch region above them all receives a
 * block's compressed bytes (or a small output) for the duration of one synchronous call.
 */
import { crc32Of } from './delta-sums';

export const BZ_OK: i32 = 0;
const BZ_OUT_OF_MEMORY: i32 = 1;
// Codes shared with wasm/src/bzip2-js.ts (BZ_STATUS there).
const BZ_TRUNCATED: i32 = 2;
const BZ_EMPTY_MAP: i32 = 3;
const BZ_BAD_GROUPS: i32 = 4;
const BZ_NO_SELECTORS: i32 = 5;
const BZ_BAD_SELECTOR: i32 = 6;
const BZ_BAD_CODE_LENGTH: i32 = 7;
const BZ_SELECTORS_EXHAUSTED: i32 = 8;
const BZ_BAD_CODE: i32 = 9;
const BZ_RUN_TOO_LONG: i32 = 10;
const BZ_BLOCK_TOO_LONG: i32 = 11;
const BZ_BAD_ORIGIN: i32 = 12;

const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const TAB = MAX_CODE_LEN + 2;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 18002;
const SLOTS = 3;

// Decode tables, used within one synchronous decode.
const LENGTHS = memory.data(MAX_GROUPS * MAX_ALPHA);
const LIMIT = memory.data(MAX_GROUPS * TAB * 4, 16);
const BASE = memory.data(MAX_GROUPS * TAB * 4, 16);
const PERM = memory.data(MAX_GROUPS * MAX_ALPHA * 4, 16);
const MINLEN = memory.data(MAX_GROUPS * 4, 16);
const MAXLEN = memory.data(MAX_GROUPS * 4, 16);
const COUNT = memory.data(TAB * 4, 16);
const SELECTORS = memory.data(MAX_SELECTORS);
const UNZFTAB = memory.data(256 * 4, 16);
const CFTAB = memory.data(257 * 4, 16);
const SEQ = memory.data(256);
const MTF = memory.data(256, 16);

// Per slot: BWT vector and output state.
const S_TT = 0; // pointer
const S_CAP = 1; // entries
const S_TPOS = 2;
const S_LEFT = 3;
const S_LAST = 4;
const S_RUN = 5;
const S_REPEAT = 6;
const S_CRC = 7;
const STATE = memory.data(SLOTS * 8 * 4, 16);

// @ts-ignore: decorator
@inline function st(slot: u32, field: u32): usize { return STATE + ((<usize>slot * 8 + field) << 2); }
// @ts-ignore: decorator
@inline function align(p: usize): usize { return (p + 15) & ~15; }

let top: usize = 0; // first byte after the slots' vectors

function ensure(end: usize): i32 {
  const have = <usize>memory.size() << 16;
  if (end > have && memory.grow(<i32>((end - have + 0xffff) >>> 16)) < 0) return BZ_OUT_OF_MEMORY;
  return BZ_OK;
}

/** Forgets every slot (a new bsdiff apply); the slots start after `addEnd`. */
export function bzReset(addEnd: usize): void {
  top = align(addEnd);
  scratchMax = 0;
  for (let s: u32 = 0; s < <u32>SLOTS; s++) for (let f: u32 = 0; f < 8; f++) store<u32>(st(s, f), 0);
}

let scratchMax: usize = 0;

/**
 * Gives `slot` a BWT vector of `blockMax` entries (its stream's declared block size) and makes
 * sure the scratch region above all slots can take `scratch` bytes. The driver calls it for the
 * three streams before it takes views of module memory, so no later call grows (and detaches) it.
 */
export function bzSlot(slot: u32, blockMax: u32, scratch: u32): i32 {
  if (slot >= <u32>SLOTS) return BZ_OUT_OF_MEMORY;
  if (load<u32>(st(slot, S_CAP)) < blockMax) {
    const p = align(top);
    store<u32>(st(slot, S_TT), <u32>p);
    store<u32>(st(slot, S_CAP), blockMax);
    top = p + (<usize>blockMax << 2);
  }
  scratchMax = max<usize>(scratchMax, scratch);
  return ensure(align(top) + scratchMax);
}

/** Scratch region above every slot (at most the bytes bzSlot reserved), valid until the next call. */
export function bzScratch(n: u32): usize {
  return <usize>n <= scratchMax ? align(top) : 0;
}

// Bit reader over the scratch region.
let ip: usize = 0;
let inEnd: usize = 0;
let bits: u32 = 0;
let live: u32 = 0;
let failed: i32 = 0;

// @ts-ignore: decorator
@inline function getBits(n: u32): u32 {
  while (live < n) {
    if (ip >= inEnd) { failed = BZ_TRUNCATED; return 0; }
    bits = (bits << 8) | <u32>load<u8>(ip++);
    live += 8;
  }
  live -= n;
  return (bits >>> live) & ((1 << n) - 1);
}

export function bzBits(): u32 { return bits; }
export function bzLive(): u32 { return live; }
export function bzUsed(): u32 { return <u32>(ip - align(top)); }

function makeTables(g: u32, alpha: u32, lo: u32, hi: u32): void {
  const lp = LENGTHS + <usize>g * MAX_ALPHA;
  const pp = PERM + (<usize>g * MAX_ALPHA << 2);
  const tab = <usize>g * TAB << 2;
  let n: usize = 0;
  for (let i = lo; i <= hi; i++) for (let j: u32 = 0; j < alpha; j++) if (<u32>load<u8>(lp + j) == i) store<i32>(pp + (n++ << 2), j);
  memory.fill(COUNT, 0, TAB * 4);
  for (let j: u32 = 0; j < alpha; j++) {
    const c = COUNT + ((<usize>load<u8>(lp + j) + 1) << 2);
    store<i32>(c, load<i32>(c) + 1);
  }
  for (let i: usize = 1; i < <usize>TAB; i++) store<i32>(COUNT + (i << 2), load<i32>(COUNT + (i << 2)) + load<i32>(COUNT + ((i - 1) << 2)));
  let vec: i32 = 0;
  for (let i = lo; i <= hi; i++) {
    vec += load<i32>(COUNT + (<usize>(i + 1) << 2)) - load<i32>(COUNT + (<usize>i << 2));
    store<i32>(LIMIT + tab + (<usize>i << 2), vec - 1);
    vec <<= 1;
  }
  store<i32>(BASE + tab + (<usize>lo << 2), load<i32>(COUNT + (<usize>lo << 2)));
  for (let i = lo + 1; i <= hi; i++) {
    store<i32>(BASE + tab + (<usize>i << 2), ((load<i32>(LIMIT + tab + (<usize>(i - 1) << 2)) + 1) << 1) - load<i32>(COUNT + (<usize>i << 2)));
  }
  store<i32>(MINLEN + (<usize>g << 2), lo);
  store<i32>(MAXLEN + (<usize>g << 2), hi);
}

/** Huffman → MTF/RLE2 → bytes into the slot's vector (low 8 bits). Returns nblock, or −status. */
function decodeSymbols(tt: usize, blockMax: u32): i32 {
  let nInUse: u32 = 0;
  const used = getBits(16);
  for (let i: u32 = 0; i < 16; i++) {
    if (used & (0x8000 >> i)) {
      const group = getBits(16);
      for (let j: u32 = 0; j < 16; j++) if (group & (0x8000 >> j)) store<u8>(SEQ + nInUse++, <u8>(i * 16 + j));
    }
  }
  if (failed != 0) return -failed;
  if (nInUse == 0) return -BZ_EMPTY_MAP;
  const alpha = nInUse + 2;
  const nGroups = getBits(3);
  if (failed != 0) return -failed;
  if (nGroups < 2 || nGroups > <u32>MAX_GROUPS) return -BZ_BAD_GROUPS;
  const nSelectors = getBits(15);
  if (failed != 0) return -failed;
  if (nSelectors < 1) return -BZ_NO_SELECTORS;
  // Selectors, MTF-coded; like bzip2 1.0.8, read but ignore those past MAX_SELECTORS.
  let pos: u64 = 0x050403020100; // the six group indices, one per byte
  for (let i: u32 = 0; i < nSelectors; i++) {
    let j: u32 = 0;
    while (getBits(1)) if (++j >= nGroups) return -BZ_BAD_SELECTOR;
    if (failed != 0) return -failed;
    const shift = <u64>(j << 3);
    const v = (pos >> shift) & 0xff;
    const below = (<u64>1 << shift) - 1;
    pos = (pos & ~((below << 8) | 0xff | below)) | ((pos & below) << 8) | v;
    if (i < <u32>MAX_SELECTORS) store<u8>(SELECTORS + i, <u8>v);
  }
  const selectorCount = min<u32>(nSelectors, MAX_SELECTORS);
  for (let g: u32 = 0; g < nGroups; g++) {
    let len = getBits(5);
    let lo: u32 = 32;
    let hi: u32 = 0;
    for (let s: u32 = 0; s < alpha; s++) {
      for (;;) {
        if (failed != 0) return -failed;
        if (len < 1 || len > <u32>MAX_CODE_LEN) return -BZ_BAD_CODE_LENGTH;
        if (!getBits(1)) break;
        len = getBits(1) ? len - 1 : len + 1;
      }
      store<u8>(LENGTHS + <usize>g * MAX_ALPHA + s, <u8>len);
      if (len < lo) lo = len;
      if (len > hi) hi = len;
    }
    makeTables(g, alpha, lo, hi);
  }
  memory.fill(UNZFTAB, 0, 256 * 4);
  for (let i: u32 = 0; i < 256; i++) store<u8>(MTF + i, <u8>i);
  const eob = nInUse + 1;
  let nblock: u32 = 0;
  let groupLeft: u32 = 0;
  let selector: u32 = 0;
  let tab: usize = 0;
  let perm: usize = 0;
  let zmin: u32 = 0;
  let zmax: u32 = 0;
  let runN: u32 = 0;
  let run: u32 = 0;
  for (;;) {
    if (groupLeft == 0) {
      if (selector >= selectorCount) return -BZ_SELECTORS_EXHAUSTED;
      const g = <usize>load<u8>(SELECTORS + selector++);
      groupLeft = GROUP_SIZE;
      tab = g * TAB << 2;
      perm = PERM + (g * MAX_ALPHA << 2);
      zmin = load<u32>(MINLEN + (g << 2));
      zmax = load<u32>(MAXLEN + (g << 2));
    }
    groupLeft--;
    let zn = zmin;
    let zvec = <i32>getBits(zn);
    while (zvec > load<i32>(LIMIT + tab + (<usize>zn << 2))) {
      if (++zn > zmax) return failed != 0 ? -failed : -BZ_BAD_CODE;
      zvec = (zvec << 1) | <i32>getBits(1);
    }
    // A truncated stream reads as zero bits: report it before anything else it could look like.
    if (failed != 0) return -failed;
    const index = zvec - load<i32>(BASE + tab + (<usize>zn << 2));
    if (index < 0 || index >= <i32>alpha) return -BZ_BAD_CODE;
    const sym = <u32>load<i32>(perm + (<usize>index << 2));
    if (sym <= 1) {
      // RUNA/RUNB: bijective base-2 run length of the front symbol.
      if (runN == 0) runN = 1;
      run += sym == 0 ? runN : 2 * runN;
      runN <<= 1;
      if (run > blockMax) return -BZ_RUN_TOO_LONG;
      continue;
    }
    if (runN != 0) {
      const uc = <u32>load<u8>(SEQ + <usize>load<u8>(MTF));
      if (nblock + run > blockMax) return -BZ_BLOCK_TOO_LONG;
      const u = UNZFTAB + (<usize>uc << 2);
      store<u32>(u, load<u32>(u) + run);
      for (let k: u32 = 0; k < run; k++) store<u32>(tt + (<usize>(nblock + k) << 2), uc);
      nblock += run;
      runN = 0;
      run = 0;
    }
    if (sym == eob) break;
    if (nblock >= blockMax) return -BZ_BLOCK_TOO_LONG;
    const k = <usize>(sym - 1);
    const v = load<u8>(MTF + k);
    memory.copy(MTF + 1, MTF, k);
    store<u8>(MTF, v);
    const uc = <u32>load<u8>(SEQ + <usize>v);
    const u = UNZFTAB + (<usize>uc << 2);
    store<u32>(u, load<u32>(u) + 1);
    store<u32>(tt + (<usize>nblock << 2), uc);
    nblock++;
  }
  return <i32>nblock;
}

/**
 * Decodes one block for `slot` from `inLen` bytes at the scratch region, continuing the bit state
 * (bits, live); `origPtr` is the block header's BWT origin. Then undoes the BWT and primes the
 * output. Returns BZ_OK or a status; bzBits/bzLive/bzUsed give the bit state after the block.
 */
export function bzDecode(slot: u32, inLen: u32, bitsIn: u32, liveIn: u32, blockMax: u32, origPtr: u32): i32 {
  ip = align(top);
  inEnd = ip + inLen;
  bits = bitsIn;
  live = liveIn;
  failed = 0;
  if (blockMax > load<u32>(st(slot, S_CAP))) return BZ_OUT_OF_MEMORY;
  const tt = <usize>load<u32>(st(slot, S_TT));
  const result = decodeSymbols(tt, blockMax);
  if (result < 0) return -result;
  const nblock = <u32>result;
  if (origPtr >= nblock) return BZ_BAD_ORIGIN;
  store<i32>(CFTAB, 0);
  for (let i: usize = 0; i < 256; i++) store<i32>(CFTAB + ((i + 1) << 2), load<i32>(CFTAB + (i << 2)) + load<i32>(UNZFTAB + (i << 2)));
  for (let i: u32 = 0; i < nblock; i++) {
    const uc = <usize>(load<u32>(tt + (<usize>i << 2)) & 0xff);
    const c = CFTAB + (uc << 2);
    const at = <usize>load<u32>(c);
    const e = tt + (at << 2);
    store<u32>(e, load<u32>(e) | (i << 8));
    store<u32>(c, <u32>at + 1);
  }
  store<u32>(st(slot, S_TPOS), load<u32>(tt + (<usize>origPtr << 2)) >>> 8);
  store<u32>(st(slot, S_LEFT), nblock);
  store<i32>(st(slot, S_LAST), -1);
  store<u32>(st(slot, S_RUN), 0);
  store<u32>(st(slot, S_REPEAT), 0);
  store<u32>(st(slot, S_CRC), 0xffffffff);
  return BZ_OK;
}

/**
 * Undoes the BWT and RLE1 of `slot`'s block into `n` bytes at `out`, continuing its CRC; returns
 * how many were written (fewer when the block ends).
 */
export function bzProduce(slot: u32, out: usize, n: u32): u32 {
  const tt = <usize>load<u32>(st(slot, S_TT));
  let tPos = load<u32>(st(slot, S_TPOS));
  let left = load<u32>(st(slot, S_LEFT));
  let last = load<i32>(st(slot, S_LAST));
  let runLength = load<u32>(st(slot, S_RUN));
  let repeat = load<u32>(st(slot, S_REPEAT));
  let at: u32 = 0;
  while (at < n) {
    if (repeat > 0) {
      const k = min<u32>(repeat, n - at);
      memory.fill(out + at, <u8>last, k);
      at += k;
      repeat -= k;
      continue;
    }
    if (left == 0) break;
    const t = load<u32>(tt + (<usize>tPos << 2));
    const ch = <i32>(t & 0xff);
    tPos = t >>> 8;
    left--;
    if (runLength == 4) {
      repeat = <u32>ch;
      runLength = 0;
      continue;
    }
    if (ch == last) runLength++;
    else {
      last = ch;
      runLength = 1;
    }
    store<u8>(out + at++, <u8>ch);
  }
  store<u32>(st(slot, S_TPOS), tPos);
  store<u32>(st(slot, S_LEFT), left);
  store<i32>(st(slot, S_LAST), last);
  store<u32>(st(slot, S_RUN), runLength);
  store<u32>(st(slot, S_REPEAT), repeat);
  store<u32>(st(slot, S_CRC), crc32Of(out, at, load<u32>(st(slot, S_CRC))));
  return at;
}

/** True when `slot`'s block has produced everything. */
export function bzDone(slot: u32): bool {
  return load<u32>(st(slot, S_LEFT)) == 0 && load<u32>(st(slot, S_REPEAT)) == 0;
}

/** The running CRC of `slot`'s block (not inverted). */
export function bzCrc(slot: u32): u32 {
  return load<u32>(st(slot, S_CRC));
}
