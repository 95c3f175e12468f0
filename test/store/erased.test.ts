/** `isErased` compares words in the aligned middle: every offset and length must still see any programmed byte. */
import { describe, expect, it } from 'vitest';
import { isErased } from '../../agent/store/format.ts';

describe('isErased', () => {
  it('finds a single non-erased byte at any position of any (unaligned) view', () => {
    const buffer = new Uint8Array(64).fill(0xff);
    for (let start = 0; start < 8; start++)
      for (let end = start; end <= 40; end++) {
        const view = buffer.subarray(start, end);
        expect(isErased(view, 0xff)).toBe(true);
        for (let at = 0; at < view.length; at++) {
          view[at] = 0xfe;
          expect(isErased(view, 0xff), `start ${start} length ${view.length} at ${at}`).toBe(false);
          view[at] = 0xff;
        }
      }
  });

  it('honours the erase value (NOR 0xff, a zero-erased medium 0x00)', () => {
    expect(isErased(new Uint8Array(33), 0)).toBe(true);
    expect(isErased(new Uint8Array(33), 0xff)).toBe(false);
    expect(isErased(new Uint8Array(0), 0xff)).toBe(true);
    const bytes = new Uint8Array(4096);
    bytes[4095] = 1;
    expect(isErased(bytes, 0)).toBe(false);
  });
});
