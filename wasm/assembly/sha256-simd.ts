/**
 * SHA-256 compression with a SIMD message schedule (FIPS 180-4 §6.2.2), for hosts with WASM SIMD.
 *
 * Why it looks like this (each step measured against hash-wasm, interleaved, median of 60 runs):
 * - scalar, W[64] array, looped rounds: ~0.65×;
 * - scalar, 64 rounds unrolled, schedule in 16 locals (sha256-scalar.ts): ~1.05–1.15× — limited by
 *   x64 register pressure (24+ live words, ~860 spill slots touched per block in V8's code);
 * - schedule computed 4 words at a time in v128 registers (shuffles emulate the unaligned windows,
 *   so there are no store-to-load forwarding stalls), stored as W+K in a 256-byte scratch area:
 *   the rounds then need only the eight working variables, ~1.3×;
 * - the same, but each schedule step is placed between the rounds, 12 rounds before its words are
 *   needed, so the out-of-order core overlaps SIMD and scalar work: ~1.4–1.5× (this file).
 * The working variables rotate by renaming (round t uses them rotated right by t), so no moves.
 */
import { S0, S1, ch, K } from './sha256-common';

// W[t] + K[t] for the block being compressed.
const wk: usize = memory.data(256, 16);

// σ0 / σ1 on four lanes. WASM SIMD has no rotate, so each rotate is shift-shift-or.
// @ts-ignore: decorator
@inline function vs0(x: v128): v128 {
  return v128.xor(v128.xor(v128.or(i32x4.shr_u(x, 7), i32x4.shl(x, 25)), v128.or(i32x4.shr_u(x, 18), i32x4.shl(x, 14))), i32x4.shr_u(x, 3));
}
// @ts-ignore: decorator
@inline function vs1(x: v128): v128 {
  return v128.xor(v128.xor(v128.or(i32x4.shr_u(x, 17), i32x4.shl(x, 15)), v128.or(i32x4.shr_u(x, 19), i32x4.shl(x, 13))), i32x4.shr_u(x, 10));
}

/**
 * W[t..t+3] from the previous 16 words held as x0 = W[t-16..t-13] … x3 = W[t-4..t-1].
 * σ1 needs W[t-2] and W[t-1] for the low lanes but W[t] and W[t+1] for the high lanes, so the
 * high half is finished in a second pass over the freshly computed low half.
 */
// @ts-ignore: decorator
@inline function schedule(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const part = i32x4.add(i32x4.add(x0, vs0(i32x4.shuffle(x0, x1, 1, 2, 3, 4))), i32x4.shuffle(x2, x3, 1, 2, 3, 4));
  const low = i32x4.add(part, vs1(i32x4.shuffle(x3, x3, 2, 3, 2, 3)));
  const high = i32x4.add(part, vs1(i32x4.shuffle(low, low, 0, 1, 0, 1)));
  return i32x4.shuffle(low, high, 0, 1, 6, 7);
}

/**
 * Absorbs `blocks` 64-byte blocks at `input` into the chaining value at `state` (8 little-endian
 * u32 words). The chaining value stays in locals across blocks.
 */
export function sha256BlocksSimd(state: usize, input: usize, blocks: u32): void {
  // Byte order swap of four big-endian words in one shuffle.
  const BSWAP = i8x16(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  let h0 = load<u32>(state, 0), h1 = load<u32>(state, 4), h2 = load<u32>(state, 8), h3 = load<u32>(state, 12);
  let h4 = load<u32>(state, 16), h5 = load<u32>(state, 20), h6 = load<u32>(state, 24), h7 = load<u32>(state, 28);
  let p = input;
  for (let n: u32 = 0; n < blocks; n++, p += 64) {
    let t: u32, x: u32, next: v128;
    let x0 = i8x16.swizzle(v128.load(p, 0), BSWAP);
    let x1 = i8x16.swizzle(v128.load(p, 16), BSWAP);
    let x2 = i8x16.swizzle(v128.load(p, 32), BSWAP);
    let x3 = i8x16.swizzle(v128.load(p, 48), BSWAP);
    v128.store(wk, i32x4.add(x0, v128.load(K, 0)), 0);
    v128.store(wk, i32x4.add(x1, v128.load(K, 16)), 16);
    v128.store(wk, i32x4.add(x2, v128.load(K, 32)), 32);
    v128.store(wk, i32x4.add(x3, v128.load(K, 48)), 48);
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    let y = b ^ c;
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 0); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 4); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 8); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 12); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 64)), 64);
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 16); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 20); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 24); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 28); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 80)), 80);
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 32); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 36); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 40); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 44); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 96)), 96);
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 48); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 52); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 56); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 60); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 112)), 112);
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 64); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 68); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 72); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 76); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 128)), 128);
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 80); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 84); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 88); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 92); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 144)), 144);
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 96); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 100); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 104); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 108); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 160)), 160);
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 112); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 116); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 120); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 124); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 176)), 176);
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 128); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 132); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 136); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 140); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 192)), 192);
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 144); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 148); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 152); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 156); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 208)), 208);
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 160); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 164); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 168); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 172); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 224)), 224);
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 176); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 180); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 184); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 188); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    next = schedule(x0, x1, x2, x3); x0 = x1; x1 = x2; x2 = x3; x3 = next;
    v128.store(wk, i32x4.add(next, v128.load(K, 240)), 240);
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 192); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 196); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 200); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 204); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 208); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 212); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 216); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 220); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    t = h + S1(e) + ch(e, f, g) + load<u32>(wk, 224); d += t;
    x = a ^ b; h = t + S0(a) + (b ^ (x & y)); y = x;
    t = g + S1(d) + ch(d, e, f) + load<u32>(wk, 228); c += t;
    x = h ^ a; g = t + S0(h) + (a ^ (x & y)); y = x;
    t = f + S1(c) + ch(c, d, e) + load<u32>(wk, 232); b += t;
    x = g ^ h; f = t + S0(g) + (h ^ (x & y)); y = x;
    t = e + S1(b) + ch(b, c, d) + load<u32>(wk, 236); a += t;
    x = f ^ g; e = t + S0(f) + (g ^ (x & y)); y = x;
    t = d + S1(a) + ch(a, b, c) + load<u32>(wk, 240); h += t;
    x = e ^ f; d = t + S0(e) + (f ^ (x & y)); y = x;
    t = c + S1(h) + ch(h, a, b) + load<u32>(wk, 244); g += t;
    x = d ^ e; c = t + S0(d) + (e ^ (x & y)); y = x;
    t = b + S1(g) + ch(g, h, a) + load<u32>(wk, 248); f += t;
    x = c ^ d; b = t + S0(c) + (d ^ (x & y)); y = x;
    t = a + S1(f) + ch(f, g, h) + load<u32>(wk, 252); e += t;
    x = b ^ c; a = t + S0(b) + (c ^ (x & y)); y = x;
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
  }
  store<u32>(state, h0, 0); store<u32>(state, h1, 4); store<u32>(state, h2, 8); store<u32>(state, h3, 12);
  store<u32>(state, h4, 16); store<u32>(state, h5, 20); store<u32>(state, h6, 24); store<u32>(state, h7, 28);
}
