/**
 * Checksums of the delta module, run in place on module memory: Adler-32 (the xdelta3
 * VCD_ADLER32 window checksum) and bzip2's CRC-32 (MSB-first, polynomial 0x04c11db7).
 *
 * Why it looks like this (profile of the 64 MiB delta-vcdiff bench entry): a bytewise Adler-32
 * took longer than the whole `xdelta3 -d` run. With SIMD (the `delta` build) each 16-byte chunk
 * adds its byte sum and its weighted sum in v128 lanes; without it (`delta-scalar`) the same sums
 * come from 8 bytes in a u64 (SWAR). Both keep the sums exactly those of the bytewise definition,
 * reduced mod 65521 once per NMAX bytes. The CRC uses slicing-by-8 (8 table lookups per 8 bytes
 * instead of one dependent lookup per byte); bzip2's runs make it the bsdiff hot spot.
 */

const MOD: u32 = 65521;
// Largest multiple of 16 with 255·n(n+1)/2 + (n+1)(MOD−1) < 2^32 (zlib's NMAX, 5552, rounded down).
const NMAX: u32 = 5536;

/** Sums of one block of `n` bytes (multiple of 16 with SIMD, of 8 without) from (a, b). */
// @ts-ignore: decorator
@inline function blockSums(p: usize, n: u32, a: u32, b: u32): u64 {
  let s: u64 = 0; // Σ bytes
  let prior: u64 = 0; // Σ over chunks of the bytes before them (times the chunk size below)
  let weighted: u64 = 0; // Σ (chunk size − offset in chunk) · byte
  let chunks: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const hiWeights = i16x8(16, 15, 14, 13, 12, 11, 10, 9);
    const loWeights = i16x8(8, 7, 6, 5, 4, 3, 2, 1);
    let vs1 = i32x4.splat(0);
    let vps = i32x4.splat(0);
    let vs2 = i32x4.splat(0);
    for (let k: u32 = 0; k < n; k += 16) {
      const v = v128.load(p + k);
      vps = i32x4.add(vps, vs1);
      const lo = i16x8.extend_low_i8x16_u(v);
      const hi = i16x8.extend_high_i8x16_u(v);
      vs1 = i32x4.add(vs1, i32x4.extadd_pairwise_i16x8_u(i16x8.add(lo, hi)));
      vs2 = i32x4.add(vs2, i32x4.add(i32x4.dot_i16x8_s(lo, hiWeights), i32x4.dot_i16x8_s(hi, loWeights)));
    }
    chunks = n >>> 4;
    s = <u64><u32>(i32x4.extract_lane(vs1, 0) + i32x4.extract_lane(vs1, 1) + i32x4.extract_lane(vs1, 2) + i32x4.extract_lane(vs1, 3));
    const ps = <u64><u32>i32x4.extract_lane(vps, 0) + <u64><u32>i32x4.extract_lane(vps, 1) + <u64><u32>i32x4.extract_lane(vps, 2) + <u64><u32>i32x4.extract_lane(vps, 3);
    prior = ps << 4;
    weighted = <u64><u32>i32x4.extract_lane(vs2, 0) + <u64><u32>i32x4.extract_lane(vs2, 1) + <u64><u32>i32x4.extract_lane(vs2, 2) + <u64><u32>i32x4.extract_lane(vs2, 3);
    const bb = <u64>b + (<u64>a << 4) * <u64>chunks + prior + weighted;
    return ((bb % MOD) << 32) | ((<u64>a + s) % MOD);
  } else {
    // Byte i of the u64 is at bits 8i. Even bytes in 16-bit lanes weigh 8,6,4,2, odd ones 7,5,3,1;
    // a multiply gathers each weighted lane sum in the top lane (no lane sum reaches 2^16).
    const LANES: u64 = 0x00ff00ff00ff00ff;
    const ONES: u64 = 0x0001000100010001;
    const EVEN: u64 = 0x0008000600040002;
    const ODD: u64 = 0x0007000500030001;
    let bb: u64 = b;
    let aa: u64 = a;
    for (let k: u32 = 0; k < n; k += 8) {
      const x = load<u64>(p + k);
      const e = x & LANES;
      const o = (x >> 8) & LANES;
      bb += (aa << 3) + ((e * EVEN) >> 48) + ((o * ODD) >> 48);
      aa += ((e + o) * ONES) >> 48;
    }
    return ((bb % MOD) << 32) | (aa % MOD);
  }
}

/** Adler-32 of `len` bytes at `p`. */
export function adler32Of(p: usize, len: u32): u32 {
  let a: u32 = 1;
  let b: u32 = 0;
  const step: u32 = ASC_FEATURE_SIMD ? 16 : 8;
  while (len >= step) {
    const n = min<u32>(NMAX, len & ~(step - 1));
    const ab = blockSums(p, n, a, b);
    a = <u32>ab;
    b = <u32>(ab >> 32);
    p += n;
    len -= n;
  }
  for (let k: u32 = 0; k < len; k++) {
    a += <u32>load<u8>(p + k);
    b += a;
  }
  return ((b % MOD) << 16) | (a % MOD);
}

const CRC = memory.data(8 * 256 * 4, 16);
let crcReady = false;

function buildCrc(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    store<u32>(CRC + (<usize>i << 2), c);
  }
  // Table t: a byte followed by t zero bytes.
  for (let t: usize = 1; t < 8; t++) {
    for (let i: usize = 0; i < 256; i++) {
      const prev = load<u32>(CRC + ((t - 1) << 10) + (i << 2));
      store<u32>(CRC + (t << 10) + (i << 2), (prev << 8) ^ load<u32>(CRC + (<usize>(prev >>> 24) << 2)));
    }
  }
  crcReady = true;
}

// @ts-ignore: decorator
@inline function tab(t: usize, i: u32): u32 {
  return load<u32>(CRC + (t << 10) + (<usize>(i & 0xff) << 2));
}

/** bzip2's running CRC (not inverted) continued over `len` bytes at `p`. */
export function crc32Of(p: usize, len: u32, crc: u32): u32 {
  if (!crcReady) buildCrc();
  let k: u32 = 0;
  for (; k + 8 <= len; k += 8) {
    const x = crc ^ bswap<u32>(load<u32>(p + k));
    const y = bswap<u32>(load<u32>(p + k, 4));
    crc = tab(7, x >>> 24) ^ tab(6, x >>> 16) ^ tab(5, x >>> 8) ^ tab(4, x) ^ tab(3, y >>> 24) ^ tab(2, y >>> 16) ^ tab(1, y >>> 8) ^ tab(0, y);
  }
  for (; k < len; k++) crc = (crc << 8) ^ tab(0, (crc >>> 24) ^ <u32>load<u8>(p + k));
  return crc;
}
