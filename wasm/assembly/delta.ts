/**
 * Delta-apply hot paths: one VCDIFF window (RFC 3284 instructions with the default code table and
 * address cache) and its Adler-32, the bsdiff add loop and bzip2 block decoding (delta-bzip2.ts).
 * Container parsing, I/O and checks stay in JS (wasm/src/vcdiff-apply.ts, bsdiff-apply.ts,
 * bzip2.ts), shared with the JS engine (wasm/src/vcdiff-js.ts, bzip2-js.ts), so both engines
 * produce the same bytes and errors.
 *
 * Calls (VCDIFF): prepare(srcLen, dataLen, instLen, addrLen, tgtLen) → JS writes the three
 * sections at dataPtr/instPtr/addrPtr → scan() walks the instructions without executing them and
 * lists the source ranges they copy (delta-ranges.ts) → JS reads those ranges to heldPtr (table at
 * rangesPtr) → run() → target at tgtPtr. The target region comes first and only grows, so the
 * previous window's target stays intact until the next run(): JS hashes and writes it while the
 * next window's source is being read.
 * Calls (bsdiff): beginBsdiff() → bzSlot(stream, …) for the three streams → per chunk
 * prepareAdd(n) → bzDecode/bzProduce write diff bytes at addDiffPtr, JS old bytes at addOldPtr
 * → add(n) → new bytes at addDiffPtr (extra bytes: bzProduce at addDiffPtr).
 * Regions are laid out from __heap_base; the module never allocates. Built twice: `delta` with
 * WASM SIMD, `delta-scalar` without (the loader falls back to it, as for `hash`).
 */
import { adler32Of, crc32Of } from './delta-sums';
import { bzReset } from './delta-bzip2';
import { MAX_RANGES, RANGE_BYTES, rangesCount, rangesFinish, rangesLocate, rangesNote, rangesReset } from './delta-ranges';

export { bzSlot, bzScratch, bzDecode, bzProduce, bzDone, bzCrc, bzBits, bzLive, bzUsed } from './delta-bzip2';

const OK: i32 = 0;
const OUT_OF_MEMORY: i32 = 1;
// Codes shared with wasm/src/vcdiff-js.ts (VCDIFF_STATUS there); the driver turns them into DeltaErrors.
const INST_OVERFLOW: i32 = 2; // instruction section ends inside an instruction or its size
const DATA_OVERFLOW: i32 = 3; // ADD/RUN reads past the data section
const ADDR_OVERFLOW: i32 = 4; // address section exhausted or address varint malformed
const BAD_ADDRESS: i32 = 5; // COPY address not before the current position
const TARGET_OVERFLOW: i32 = 6; // instructions produce more than the target window length
const TARGET_SHORT: i32 = 7; // instructions end before the target window is full
const SECTIONS_LEFT: i32 = 8; // data or address bytes left over
const BAD_INSTRUCTION: i32 = 9; // code table entry that is NOOP/NOOP or a varint that overflows

let src: usize = 0; // the held source ranges (delta-ranges.ts), placed by scan()
let srcLen: u32 = 0; // the segment's length: COPY addresses below it are source addresses
let table: usize = 0;
let tgtCap: usize = 0;
let data: usize = 0;
let dataLen: u32 = 0;
let inst: usize = 0;
let instLen: u32 = 0;
let addr: usize = 0;
let addrLen: u32 = 0;
let tgt: usize = 0;
let tgtLen: u32 = 0;
let end: usize = 0;

// Default code table (RFC 3284 §5.6), built once: per index type1,size1,mode1,type2,size2,mode2.
const TABLE = memory.data(256 * 6);
const NEAR = memory.data(4 * 4);
const SAME = memory.data(768 * 4);
const NOOP: u8 = 0;
const ADD: u8 = 1;
const RUN: u8 = 2;
const COPY: u8 = 3;
let tableReady = false;

function entry(i: i32, t1: u8, s1: u8, m1: u8, t2: u8, s2: u8, m2: u8): void {
  const p = TABLE + <usize>i * 6;
  store<u8>(p, t1); store<u8>(p, s1, 1); store<u8>(p, m1, 2);
  store<u8>(p, t2, 3); store<u8>(p, s2, 4); store<u8>(p, m2, 5);
}

function buildTable(): void {
  let i = 0;
  entry(i++, RUN, 0, 0, NOOP, 0, 0);
  for (let s: u8 = 0; s <= 17; s++) entry(i++, ADD, s, 0, NOOP, 0, 0);
  for (let m: u8 = 0; m <= 8; m++) {
    entry(i++, COPY, 0, m, NOOP, 0, 0);
    for (let s: u8 = 4; s <= 18; s++) entry(i++, COPY, s, m, NOOP, 0, 0);
  }
  for (let m: u8 = 0; m <= 5; m++) for (let a: u8 = 1; a <= 4; a++) for (let c: u8 = 4; c <= 6; c++) entry(i++, ADD, a, 0, COPY, c, m);
  for (let m: u8 = 6; m <= 8; m++) for (let a: u8 = 1; a <= 4; a++) entry(i++, ADD, a, 0, COPY, 4, m);
  for (let m: u8 = 0; m <= 8; m++) entry(i++, COPY, 4, m, ADD, 1, 0);
  tableReady = true;
}

// @ts-ignore: decorator
@inline function align(p: usize): usize { return (p + 15) & ~15; }

function ensure(top: usize): i32 {
  const have = <usize>memory.size() << 16;
  if (top > have) {
    const pages = <i32>((top - have + 0xffff) >>> 16);
    if (memory.grow(pages) < 0) return OUT_OF_MEMORY;
  }
  return OK;
}

/** An apply starts: no earlier target needs keeping. */
export function beginVcdiff(): void {
  tgtCap = 0;
}

/**
 * Lays out a window. With `keep`, the target region grows in place and the previous target
 * (bytes [0, its length)) survives until run(); without, it is sized for this window alone.
 */
export function prepare(s: u32, d: u32, i: u32, a: u32, t: u32, keep: bool): i32 {
  if (!tableReady) buildTable();
  let p = align(__heap_base);
  if (!keep || <usize>t > tgtCap) tgtCap = <usize>t;
  tgt = p; tgtLen = t; p = align(p + tgtCap);
  data = p; dataLen = d; p = align(p + d);
  inst = p; instLen = i; p = align(p + i);
  addr = p; addrLen = a; p = align(p + a);
  table = p; p = align(p + <usize>MAX_RANGES * RANGE_BYTES);
  src = p; srcLen = s;
  end = p;
  rangesReset(table);
  return ensure(p);
}

/**
 * Walks the window's instructions without executing them and lists the source bytes they copy,
 * then makes room for them at heldPtr. Returns the status run() would return for the same window
 * (the walk is the same code) or OK; rangesPtr/rangeCount/heldBytes then describe the reads.
 */
export function scan(): i32 {
  rangesReset(table);
  const status = walk(false);
  if (status != OK) return status;
  held = rangesFinish();
  end = align(src + <usize>held);
  return ensure(end);
}

let held: u32 = 0;
export function rangesPtr(): usize { return table; }
export function rangeCount(): u32 { return rangesCount(); }
export function heldBytes(): u32 { return held; }

export function heldPtr(): usize { return src; }
export function dataPtr(): usize { return data; }
export function instPtr(): usize { return inst; }
export function addrPtr(): usize { return addr; }
export function tgtPtr(): usize { return tgt; }

// Cursors of run(); globals so the helpers below can advance them.
let ip: u32 = 0;
let ap: u32 = 0;
let failed: i32 = 0;

/**
 * Base-128 big-endian integer of at most 32 bits at `base + cursor` (cursor < `limit`). Sets
 * `failed` to `ended` when the section ends inside it, to `overflow` when it exceeds 32 bits.
 */
function varint(base: usize, limit: u32, ended: i32, overflow: i32): u32 {
  let v: u64 = 0;
  for (let k = 0; k < 5; k++) {
    if (cursor >= limit) { failed = ended; return 0; }
    const b = load<u8>(base + cursor++);
    v = (v << 7) | <u64>(b & 0x7f);
    if (v > 0xffffffff) { failed = overflow; return 0; }
    if ((b & 0x80) == 0) return <u32>v;
  }
  failed = overflow;
  return 0;
}

let cursor: u32 = 0;

function instVarint(): u32 {
  cursor = ip;
  const v = varint(inst, instLen, INST_OVERFLOW, BAD_INSTRUCTION);
  ip = cursor;
  return v;
}

function addrVarint(): u32 {
  cursor = ap;
  const v = varint(addr, addrLen, ADDR_OVERFLOW, ADDR_OVERFLOW);
  ap = cursor;
  return v;
}

let nearSlot: u32 = 0;

/** Decodes a COPY address (RFC 3284 §5.3) at position `here` of the U space and updates the caches. */
function decodeAddress(here: u32, mode: u8): u32 {
  let a: u64;
  if (mode == 0) a = <u64>addrVarint();
  else if (mode == 1) a = <u64>here - <u64>addrVarint();
  else if (mode < 6) a = <u64>load<u32>(NEAR + (<usize>(mode - 2) << 2)) + <u64>addrVarint();
  else {
    if (ap >= addrLen) { failed = ADDR_OVERFLOW; return 0; }
    const b = <u32>load<u8>(addr + ap++);
    a = <u64>load<u32>(SAME + (<usize>((<u32>(mode - 6) << 8) + b) << 2));
  }
  if (failed != 0) return 0;
  if (a >= <u64>here) { failed = BAD_ADDRESS; return 0; }
  const v = <u32>a;
  store<u32>(NEAR + (<usize>nearSlot << 2), v);
  nearSlot = (nearSlot + 1) & 3;
  store<u32>(SAME + (<usize>(v % 768) << 2), v);
  return v;
}

/** Executes the window's instructions into the target region. Returns OK or a status code. */
export function run(): i32 {
  return walk(true);
}

/** The instruction loop of run() (execute) and scan() (note the source ranges only). */
function walk(execute: bool): i32 {
  memory.fill(NEAR, 0, 4 * 4);
  memory.fill(SAME, 0, 768 * 4);
  nearSlot = 0;
  ip = 0; ap = 0; failed = 0;
  let dp: u32 = 0;
  let tp: u32 = 0;
  while (ip < instLen) {
    const code = <usize>load<u8>(inst + ip++);
    const e = TABLE + code * 6;
    if (load<u8>(e) == NOOP && load<u8>(e, 3) == NOOP) return BAD_INSTRUCTION;
    for (let half: usize = 0; half < 6; half += 3) {
      const h = e + half;
      const type = load<u8>(h);
      if (type == NOOP) continue;
      let size = <u32>load<u8>(h, 1);
      if (size == 0) {
        size = instVarint();
        if (failed != 0) return failed;
      }
      if (<u64>tp + <u64>size > <u64>tgtLen) return TARGET_OVERFLOW;
      if (type == ADD) {
        if (<u64>dp + <u64>size > <u64>dataLen) return DATA_OVERFLOW;
        if (execute) memory.copy(tgt + tp, data + dp, size);
        dp += size;
      } else if (type == RUN) {
        if (dp >= dataLen) return DATA_OVERFLOW;
        const b = load<u8>(data + dp++);
        if (execute) memory.fill(tgt + tp, b, size);
      } else {
        const here = srcLen + tp;
        const a = decodeAddress(here, load<u8>(h, 2));
        if (failed != 0) return failed;
        if (execute) {
          if (!copyFrom(a, tp, size)) return BAD_ADDRESS;
        } else if (a < srcLen && size > 0) {
          rangesNote(a, min<u32>(size, srcLen - a));
        }
      }
      tp += size;
    }
  }
  if (tp != tgtLen) return TARGET_SHORT;
  if (dp != dataLen || ap != addrLen) return SECTIONS_LEFT;
  return OK;
}

/**
 * COPY of `size` bytes from U-space address `a` (< here) to target position `tp`; false when the
 * source part is not held (scan() and run() disagree: cannot happen, checked all the same).
 */
function copyFrom(a: u32, tp: u32, size: u32): bool {
  let n = size;
  let to = tgt + tp;
  let from = a;
  if (from < srcLen) {
    const fromSource = min<u32>(n, srcLen - from);
    if (fromSource > 0) {
      const at = rangesLocate(from, fromSource);
      if (at < 0) return false;
      memory.copy(to, src + <usize>at, fromSource);
    }
    to += fromSource;
    n -= fromSource;
    from = 0;
  } else {
    from -= srcLen;
  }
  if (n == 0) return true;
  // From the target: forward byte order, because the copy may overlap what it writes (a run).
  const at = tgt + from;
  if (at + n <= to) {
    memory.copy(to, at, n);
  } else {
    for (let k: usize = 0; k < n; k++) store<u8>(to + k, load<u8>(at + k));
  }
  return true;
}

/** Adler-32 of the target window (the xdelta3 VCD_ADLER32 extension). */
export function adler32(): u32 {
  return adler32Of(tgt, tgtLen);
}

/** bzip2's running CRC continued over `len` bytes at `p` (what bzProduce uses; tested through it). */
export function crc32(p: usize, len: u32, crc: u32): u32 {
  return crc32Of(p, len, crc);
}

let addBase: usize = 0;
// Largest prepareAdd (bsdiff-apply.ts CHUNK): the bzip2 slots start after two regions of it.
const ADD_MAX: u32 = 1 << 20;

/** A bsdiff apply starts: the add regions, then the bzip2 slots (delta-bzip2.ts). */
export function beginBsdiff(): i32 {
  addBase = align(__heap_base);
  const end = addBase + (<usize>ADD_MAX << 1) + 32;
  bzReset(end);
  return ensure(end);
}

/** Two regions of n ≤ ADD_MAX bytes (diff, old) after the VCDIFF regions' start. */
export function prepareAdd(n: u32): i32 {
  if (n > ADD_MAX) return OUT_OF_MEMORY;
  addBase = align(__heap_base);
  return ensure(addBase + (<usize>n << 1) + 32);
}
export function addDiffPtr(): usize { return addBase; }
export function addOldPtr(n: u32): usize { return align(addBase + n); }

const LOW7: u64 = 0x7f7f7f7f7f7f7f7f;
const HIGH: u64 = 0x8080808080808080;

/**
 * bsdiff: diff[i] += old[i] (mod 256). With SIMD 16 lanes at a time; without, 8 bytes in a u64:
 * add the low 7 bits of each lane, then fix the top bit with xor, so no carry crosses a lane.
 */
export function add(n: u32): void {
  const d = addBase;
  const o = align(addBase + n);
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const wide = <usize>(n & ~15);
    for (; k < wide; k += 16) v128.store(d + k, i8x16.add(v128.load(d + k), v128.load(o + k)));
  } else {
    const wide = <usize>(n & ~7);
    for (; k < wide; k += 8) {
      const x = load<u64>(d + k);
      const y = load<u64>(o + k);
      store<u64>(d + k, ((x & LOW7) + (y & LOW7)) ^ ((x ^ y) & HIGH));
    }
  }
  for (; k < <usize>n; k++) store<u8>(d + k, load<u8>(d + k) + load<u8>(o + k));
}
