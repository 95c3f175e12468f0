/**
 * MD5 compression (RFC 1321 §3.4) over whole 64-byte blocks.
 *
 * MD5 is here for OMA DM auth-md5 and HMAC-MD5 (and servers that still publish MD5 digests),
 * never as a security boundary on its own. Unlike SHA-256, MD5 is latency-bound: every step
 * depends on the previous one. So each step adds a + K + M first (independent of b) and only the
 * boolean function of b — in a form whose b-dependent part is one or two operations — sits on
 * the chain. G uses (b & d) + (c & ~d) (disjoint bits, so + is |) to move c & ~d off the chain.
 * Message words are loaded where used (little-endian, no swap). Measured 1.13× hash-wasm; the
 * plain form z ^ (x & (y ^ z)) added in textbook order was 0.85×.
 */

// @ts-ignore: decorator
@inline function ff(a: u32, b: u32, c: u32, d: u32, km: u32, s: u32): u32 {
  return b + rotl<u32>((d ^ (b & (c ^ d))) + (a + km), s);
}
// @ts-ignore: decorator
@inline function gg(a: u32, b: u32, c: u32, d: u32, km: u32, s: u32): u32 {
  return b + rotl<u32>((b & d) + ((c & ~d) + (a + km)), s);
}
// @ts-ignore: decorator
@inline function hh(a: u32, b: u32, c: u32, d: u32, km: u32, s: u32): u32 {
  return b + rotl<u32>((b ^ (c ^ d)) + (a + km), s);
}
// @ts-ignore: decorator
@inline function ii(a: u32, b: u32, c: u32, d: u32, km: u32, s: u32): u32 {
  return b + rotl<u32>((c ^ (b | ~d)) + (a + km), s);
}

/** Absorbs `blocks` 64-byte blocks at `input` into the chaining value at `state` (4 LE words). */
export function md5Blocks(state: usize, input: usize, blocks: u32): void {
  let h0 = load<u32>(state, 0), h1 = load<u32>(state, 4), h2 = load<u32>(state, 8), h3 = load<u32>(state, 12);
  let p = input;
  for (let n: u32 = 0; n < blocks; n++, p += 64) {
    let a = h0, b = h1, c = h2, d = h3;
    a = ff(a, b, c, d, 0xd76aa478 + load<u32>(p, 0), 7);
    d = ff(d, a, b, c, 0xe8c7b756 + load<u32>(p, 4), 12);
    c = ff(c, d, a, b, 0x242070db + load<u32>(p, 8), 17);
    b = ff(b, c, d, a, 0xc1bdceee + load<u32>(p, 12), 22);
    a = ff(a, b, c, d, 0xf57c0faf + load<u32>(p, 16), 7);
    d = ff(d, a, b, c, 0x4787c62a + load<u32>(p, 20), 12);
    c = ff(c, d, a, b, 0xa8304613 + load<u32>(p, 24), 17);
    b = ff(b, c, d, a, 0xfd469501 + load<u32>(p, 28), 22);
    a = ff(a, b, c, d, 0x698098d8 + load<u32>(p, 32), 7);
    d = ff(d, a, b, c, 0x8b44f7af + load<u32>(p, 36), 12);
    c = ff(c, d, a, b, 0xffff5bb1 + load<u32>(p, 40), 17);
    b = ff(b, c, d, a, 0x895cd7be + load<u32>(p, 44), 22);
    a = ff(a, b, c, d, 0x6b901122 + load<u32>(p, 48), 7);
    d = ff(d, a, b, c, 0xfd987193 + load<u32>(p, 52), 12);
    c = ff(c, d, a, b, 0xa679438e + load<u32>(p, 56), 17);
    b = ff(b, c, d, a, 0x49b40821 + load<u32>(p, 60), 22);

    a = gg(a, b, c, d, 0xf61e2562 + load<u32>(p, 4), 5);
    d = gg(d, a, b, c, 0xc040b340 + load<u32>(p, 24), 9);
    c = gg(c, d, a, b, 0x265e5a51 + load<u32>(p, 44), 14);
    b = gg(b, c, d, a, 0xe9b6c7aa + load<u32>(p, 0), 20);
    a = gg(a, b, c, d, 0xd62f105d + load<u32>(p, 20), 5);
    d = gg(d, a, b, c, 0x02441453 + load<u32>(p, 40), 9);
    c = gg(c, d, a, b, 0xd8a1e681 + load<u32>(p, 60), 14);
    b = gg(b, c, d, a, 0xe7d3fbc8 + load<u32>(p, 16), 20);
    a = gg(a, b, c, d, 0x21e1cde6 + load<u32>(p, 36), 5);
    d = gg(d, a, b, c, 0xc33707d6 + load<u32>(p, 56), 9);
    c = gg(c, d, a, b, 0xf4d50d87 + load<u32>(p, 12), 14);
    b = gg(b, c, d, a, 0x455a14ed + load<u32>(p, 32), 20);
    a = gg(a, b, c, d, 0xa9e3e905 + load<u32>(p, 52), 5);
    d = gg(d, a, b, c, 0xfcefa3f8 + load<u32>(p, 8), 9);
    c = gg(c, d, a, b, 0x676f02d9 + load<u32>(p, 28), 14);
    b = gg(b, c, d, a, 0x8d2a4c8a + load<u32>(p, 48), 20);

    a = hh(a, b, c, d, 0xfffa3942 + load<u32>(p, 20), 4);
    d = hh(d, a, b, c, 0x8771f681 + load<u32>(p, 32), 11);
    c = hh(c, d, a, b, 0x6d9d6122 + load<u32>(p, 44), 16);
    b = hh(b, c, d, a, 0xfde5380c + load<u32>(p, 56), 23);
    a = hh(a, b, c, d, 0xa4beea44 + load<u32>(p, 4), 4);
    d = hh(d, a, b, c, 0x4bdecfa9 + load<u32>(p, 16), 11);
    c = hh(c, d, a, b, 0xf6bb4b60 + load<u32>(p, 28), 16);
    b = hh(b, c, d, a, 0xbebfbc70 + load<u32>(p, 40), 23);
    a = hh(a, b, c, d, 0x289b7ec6 + load<u32>(p, 52), 4);
    d = hh(d, a, b, c, 0xeaa127fa + load<u32>(p, 0), 11);
    c = hh(c, d, a, b, 0xd4ef3085 + load<u32>(p, 12), 16);
    b = hh(b, c, d, a, 0x04881d05 + load<u32>(p, 24), 23);
    a = hh(a, b, c, d, 0xd9d4d039 + load<u32>(p, 36), 4);
    d = hh(d, a, b, c, 0xe6db99e5 + load<u32>(p, 48), 11);
    c = hh(c, d, a, b, 0x1fa27cf8 + load<u32>(p, 60), 16);
    b = hh(b, c, d, a, 0xc4ac5665 + load<u32>(p, 8), 23);

    a = ii(a, b, c, d, 0xf4292244 + load<u32>(p, 0), 6);
    d = ii(d, a, b, c, 0x432aff97 + load<u32>(p, 28), 10);
    c = ii(c, d, a, b, 0xab9423a7 + load<u32>(p, 56), 15);
    b = ii(b, c, d, a, 0xfc93a039 + load<u32>(p, 20), 21);
    a = ii(a, b, c, d, 0x655b59c3 + load<u32>(p, 48), 6);
    d = ii(d, a, b, c, 0x8f0ccc92 + load<u32>(p, 12), 10);
    c = ii(c, d, a, b, 0xffeff47d + load<u32>(p, 40), 15);
    b = ii(b, c, d, a, 0x85845dd1 + load<u32>(p, 4), 21);
    a = ii(a, b, c, d, 0x6fa87e4f + load<u32>(p, 32), 6);
    d = ii(d, a, b, c, 0xfe2ce6e0 + load<u32>(p, 60), 10);
    c = ii(c, d, a, b, 0xa3014314 + load<u32>(p, 24), 15);
    b = ii(b, c, d, a, 0x4e0811a1 + load<u32>(p, 52), 21);
    a = ii(a, b, c, d, 0xf7537e82 + load<u32>(p, 16), 6);
    d = ii(d, a, b, c, 0xbd3af235 + load<u32>(p, 44), 10);
    c = ii(c, d, a, b, 0x2ad7d2bb + load<u32>(p, 8), 15);
    b = ii(b, c, d, a, 0xeb86d391 + load<u32>(p, 36), 21);

    h0 += a; h1 += b; h2 += c; h3 += d;
  }
  store<u32>(state, h0, 0); store<u32>(state, h1, 4); store<u32>(state, h2, 8); store<u32>(state, h3, 12);
}
