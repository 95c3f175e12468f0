/**
 * The store holds small live values as binary strings and large ones as byte arrays
 * (agent/store/held-value.ts): every byte value, empty values and values on both sides of the
 * threshold come back byte-identical through puts, reopen and compaction, reads are copies the
 * caller may change, and the compacted size (`stats().liveBytes`) stays exact without a per-key
 * table of bounds.
 */
import { describe, expect, it } from 'vitest';
import { HELD_AS_STRING_MAX, hold, release } from '../../agent/store/held-value.ts';
import { putLength, recordBound, AREA_HEADER_LENGTH } from '../../agent/store/format.ts';
import { KeyValueStore } from '../../agent/store/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { hex, prng, snapshot } from './workload.ts';

const WRITE_ALIGN = 8;

/** A 64 KiB partition: two 32 KiB areas, room for values well above the threshold. */
function bigMedium() {
  const memory = new MockFlashMemory({ blockLength: 4096, writeAlign: WRITE_ALIGN, partitions: [{ name: 'state', size: 4096 * 16 }] });
  const flash = createMockFlash(memory, new PowerCut());
  return { open: async () => KeyValueStore.open(await flash.open({ partition: 'state' })) };
}

function randomBytes(length: number, seed: number): Uint8Array {
  const random = prng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Every byte value 0..255, empty, one byte each of the extremes, both sides of the threshold, large. */
function specimens(): Map<string, Uint8Array> {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  return new Map<string, Uint8Array>([
    ['all-bytes', all],
    ['all-bytes-reversed', all.slice().reverse()],
    ['empty', new Uint8Array(0)],
    ['zero', Uint8Array.of(0)],
    ['ff', Uint8Array.of(0xff)],
    ['zeros', new Uint8Array(300)],
    ['at-threshold', randomBytes(HELD_AS_STRING_MAX, 1)],
    ['over-threshold', randomBytes(HELD_AS_STRING_MAX + 1, 2)],
    ['large', randomBytes(9000, 3)],
    ['ключ/ü', randomBytes(77, 4)],
  ]);
}

/** The compacted size of a live set as the store's admission rule counts it. */
function liveBytes(values: Map<string, Uint8Array>): number {
  let total = AREA_HEADER_LENGTH;
  for (const [key, value] of values) total += recordBound(putLength(key, value.length), WRITE_ALIGN);
  // The data start is the header rounded up to writeAlign (16 is already a multiple of 8).
  return total;
}

describe('held values (small as strings, large as bytes)', () => {
  it('hold/release round-trip every length 0..2*threshold byte-identically, never aliasing the input', () => {
    for (let length = 0; length <= 2 * HELD_AS_STRING_MAX; length += length < 40 ? 1 : 37) {
      const bytes = randomBytes(length, length);
      const held = hold(bytes);
      expect(typeof held === 'string').toBe(length <= HELD_AS_STRING_MAX);
      expect(held.length).toBe(length);
      const saved = bytes.slice();
      bytes.fill(0xaa);
      const back = release(held);
      expect(hex(back)).toBe(hex(saved));
      back.fill(0x55);
      expect(hex(release(held))).toBe(hex(saved));
    }
  });

  it('values of every byte, empty and large ones survive puts, reopen and compaction byte-identically', async () => {
    const medium = bigMedium();
    const store = await medium.open();
    const values = specimens();
    for (const [key, value] of values) await store.put(key, value);
    const expected = new Map([...values].map(([key, value]) => [key, hex(value)]));
    expect(snapshot(store)).toEqual(expected);

    const reopened = await medium.open();
    expect(snapshot(reopened)).toEqual(expected);
    await reopened.compact();
    expect(snapshot(reopened)).toEqual(expected);
    const afterCompaction = await medium.open();
    expect(afterCompaction.report.corruption).toEqual([]);
    expect(snapshot(afterCompaction)).toEqual(expected);
    // A value that changes side of the threshold keeps its bytes.
    await afterCompaction.batch([
      { kind: 'put', key: 'large', value: Uint8Array.of(1, 2, 3) },
      { kind: 'put', key: 'all-bytes', value: randomBytes(4000, 9) },
    ]);
    const last = await medium.open();
    expect(hex(last.get('large') as Uint8Array)).toBe('010203');
    expect(hex(last.get('all-bytes') as Uint8Array)).toBe(hex(randomBytes(4000, 9)));
  });

  it('returns fresh copies on both sides of the threshold and keeps no reference to what was put', async () => {
    const store = await bigMedium().open();
    for (const length of [0, 5, HELD_AS_STRING_MAX, HELD_AS_STRING_MAX + 1, 6000]) {
      const key = `k${length}`;
      const value = randomBytes(length, length + 100);
      const saved = hex(value);
      await store.put(key, value);
      value.fill(7);
      const first = store.get(key) as Uint8Array;
      const second = store.get(key) as Uint8Array;
      expect(first).not.toBe(second);
      if (length > 0) expect(first.buffer).not.toBe(second.buffer);
      first.fill(9);
      expect(hex(store.get(key) as Uint8Array)).toBe(saved);
      expect(hex(second)).toBe(saved);
    }
    // A batch's values are copied when the batch is accepted, before it is written.
    const value = randomBytes(40, 5);
    const saved = hex(value);
    const write = store.batch([{ kind: 'put', key: 'queued', value }]);
    value.fill(1);
    await write;
    expect(hex(store.get('queued') as Uint8Array)).toBe(saved);
  });

  it('keeps the compacted size exact through overwrites, deletes, compactions and reopen', async () => {
    const medium = bigMedium();
    const store = await medium.open();
    const model = new Map<string, Uint8Array>();
    const random = prng(42);
    for (let step = 0; step < 300; step++) {
      const key = `key/${Math.floor(random() * 12)}${step % 3 === 0 ? '/ß' : ''}`;
      if (random() < 0.25) {
        await store.delete(key);
        model.delete(key);
      } else {
        const length = random() < 0.1 ? 600 + Math.floor(random() * 900) : Math.floor(random() * 80);
        const value = randomBytes(length, step);
        await store.put(key, value);
        model.set(key, value);
      }
      if (step % 50 === 49) await store.compact();
      expect(store.stats().liveBytes).toBe(liveBytes(model));
    }
    expect(store.stats().compactions).toBeGreaterThan(6);
    const reopened = await medium.open();
    expect(reopened.stats().liveBytes).toBe(liveBytes(model));
    expect(snapshot(reopened)).toEqual(new Map([...model].map(([key, value]) => [key, hex(value)])));
  });
});
