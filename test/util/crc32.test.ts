/**
 * CRC-32 as zlib computes it (store records and boot-control blocks are checked with it on flash
 * written by earlier agents, so its values must never change), a nibble at a time.
 */
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../agent/util/crc32.ts';

/** The definition, bit by bit (reflected polynomial 0xEDB88320). */
function bitwise(bytes: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it('matches the bitwise definition for every byte value and for chained (seeded) runs', () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
    for (let b = 0; b < 256; b++) expect(crc32(Uint8Array.of(b)), `byte ${b}`).toBe(bitwise(Uint8Array.of(b)));
    expect(crc32(bytes)).toBe(bitwise(bytes));
    for (const cut of [0, 1, 7, 2048, 4095]) expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(crc32(bytes));
  });
});
