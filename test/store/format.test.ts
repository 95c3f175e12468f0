/**
 * On-flash format: the zero-free framing's encode/decode contract, stores written by format 1
 * (devices in the field) opening and migrating, and an unknown newer format refused untouched.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { KeyValueStore, StoreFormatError, StoreFullError } from '../../agent/store/index.ts';
import { encodeAreaHeader } from '../../agent/store/format.ts';
import { ZeroFreeReader, encodeZeroFree, zeroFreeBound } from '../../agent/store/zero-free.ts';
import { TearableNor } from './nor-flash.ts';
import { snapshot } from './workload.ts';

interface LegacyImage {
  hex: string;
  expected: Record<string, string>;
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/format-v1.json', import.meta.url), 'utf8')) as {
  layout: { blockLength: number; writeAlign: number; partitions: { size: number }[] };
  clean: LegacyImage;
  torn: LegacyImage;
  overfull: LegacyImage;
};

function legacyMedium(image: LegacyImage): TearableNor {
  const { blockLength, writeAlign, partitions } = fixtures.layout;
  return new TearableNor(blockLength, (partitions[0]?.size as number) / blockLength, writeAlign, Uint8Array.from(Buffer.from(image.hex, 'hex')));
}

describe('zero-free encoding', () => {
  it('round-trips any bytes, never emits 0x00 and stays within its bound', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.constantFrom(0, 1, 0xff), (data, fill) => {
        const encoded = encodeZeroFree(data);
        expect(encoded.includes(0)).toBe(false);
        expect(encoded.length).toBeLessThanOrEqual(zeroFreeBound(data.length));
        const buffer = new Uint8Array(encoded.length + 8).fill(fill);
        buffer.set(encoded);
        const reader = new ZeroFreeReader(buffer, 0, buffer.length);
        const out = new Uint8Array(data.length);
        expect(reader.read(out)).toBe(true);
        expect(reader.finish()).toBe(true);
        expect(reader.offset).toBe(encoded.length);
        expect(out).toEqual(data);
      }),
      { numRuns: 500 },
    );
  });
});

describe('stores written by format 1', () => {
  it('open with every value, report format 1, and are rewritten in format 2 by the next write', async () => {
    const nor = legacyMedium(fixtures.clean);
    const store = await KeyValueStore.open(nor);
    expect(store.report).toMatchObject({ format: 1, corruption: [], tornTail: false });
    expect(Object.fromEntries(snapshot(store))).toEqual(fixtures.clean.expected);
    await store.put('migrated', Uint8Array.of(2));
    const again = await KeyValueStore.open(nor);
    expect(again.report).toMatchObject({ format: 2, corruption: [], tornTail: false });
    expect(Object.fromEntries(snapshot(again))).toEqual({ ...fixtures.clean.expected, migrated: '02' });
  });

  it('with a torn tail, open as a normal power-cut recovery', async () => {
    const nor = legacyMedium(fixtures.torn);
    const store = await KeyValueStore.open(nor);
    expect(store.report).toMatchObject({ format: 1, corruption: [], tornTail: true });
    expect(Object.fromEntries(snapshot(store))).toEqual(fixtures.torn.expected);
    await store.delete('state');
    const again = await KeyValueStore.open(nor);
    const { state: _dropped, ...rest } = fixtures.torn.expected;
    expect(Object.fromEntries(snapshot(again))).toEqual(rest);
    expect(again.report.format).toBe(2);
  });

  it('left over-full by the old compaction bug: deletes succeed at once, puts resume once it fits (regression)', async () => {
    const nor = legacyMedium(fixtures.overfull);
    let store = await KeyValueStore.open(nor);
    const expected = new Map(Object.entries(fixtures.overfull.expected));
    expect(snapshot(store)).toEqual(expected);
    await expect(store.put('new', Uint8Array.of(1))).rejects.toBeInstanceOf(StoreFullError);
    const keys = store.keys().filter((k) => k !== 'first');
    while (true) {
      const victim = keys.shift() as string;
      await store.delete(victim);
      expected.delete(victim);
      store = await KeyValueStore.open(nor); // reboot after every delete: nothing lost, still writable
      expect(snapshot(store)).toEqual(expected);
      const stats = store.stats();
      if (stats.liveBytes + 32 <= stats.areaLength) break;
      await expect(store.put('new', Uint8Array.of(1))).rejects.toBeInstanceOf(StoreFullError);
    }
    await store.put('new', Uint8Array.of(1));
    expect((await KeyValueStore.open(nor)).get('new')).toEqual(Uint8Array.of(1));
  });
});

describe('area generations', () => {
  it('keep counting across the u32 wrap: the area written after 0xFFFFFFFF is the live one', async () => {
    const nor = new TearableNor(256, 4, 8);
    const store = await KeyValueStore.open(nor);
    await store.put('a', Uint8Array.of(1));
    // Pretend four billion compactions happened: the live area (0, the first formatted) is at the last generation.
    nor.cells.fill(0xff, 0, 16);
    nor.cells.set(encodeAreaHeader(0xffffffff, 512), 0);
    const old = await KeyValueStore.open(nor);
    expect(old.report.generation).toBe(0xffffffff);
    await old.compact();
    await old.put('b', Uint8Array.of(2));
    const again = await KeyValueStore.open(nor);
    expect(again.report.generation).toBe(0);
    expect(snapshot(again)).toEqual(new Map([['a', '01'], ['b', '02']]));
  });
});

describe('an unknown on-flash format', () => {
  it('is refused with StoreFormatError and the medium is left untouched', async () => {
    const nor = new TearableNor(256, 4, 8);
    nor.cells.set(encodeAreaHeader(7, 512, 3), 0);
    nor.cells.set([0x99, 0x98], 16);
    const before = nor.cells.slice();
    const error = await KeyValueStore.open(nor).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFormatError);
    expect((error as StoreFormatError).version).toBe(3);
    expect(nor.cells).toEqual(before);
  });
});
