import { describe, expect, it } from 'vitest';
import { KeyValueStore, StoreClosedError, StoreFullError, StoreUsageError, getValue, putValue } from '../../agent/store/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { LAYOUT, hex, newMedium, snapshot } from './workload.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('KeyValueStore', () => {
  it('starts fresh on a blank partition and persists puts, deletes and batches across reopen', async () => {
    const medium = newMedium();
    const store = await medium.open();
    expect(store.report).toMatchObject({ fresh: true, corruption: [], tornTail: false });
    await store.put('a', bytes(1));
    await store.put('ключ/ü', bytes(2, 3));
    await store.batch([
      { kind: 'put', key: 'b', value: bytes(4) },
      { kind: 'delete', key: 'a' },
    ]);
    const again = await medium.open();
    expect(again.report.fresh).toBe(false);
    expect(again.keys()).toEqual(['b', 'ключ/ü']);
    expect(again.get('ключ/ü')).toEqual(bytes(2, 3));
    expect(again.has('a')).toBe(false);
    expect(again.keys('ключ')).toEqual(['ключ/ü']);
  });

  it('returns copies, so callers cannot change stored values by accident', async () => {
    const store = await newMedium().open();
    const value = bytes(1, 2);
    await store.put('k', value);
    value[0] = 9;
    const read = store.get('k') as Uint8Array;
    read[1] = 9;
    expect(store.get('k')).toEqual(bytes(1, 2));
  });

  it('compacts by itself when the area fills and keeps the live set', async () => {
    const medium = newMedium();
    const store = await medium.open();
    for (let i = 0; i < 200; i++) await store.put(`k${i % 5}`, bytes(i & 255, 1, 2, 3, 4, 5, 6, 7));
    expect(store.stats().compactions).toBeGreaterThan(5);
    const again = await medium.open();
    expect(snapshot(again)).toEqual(snapshot(store));
    expect(again.get('k4')).toEqual(bytes(199, 1, 2, 3, 4, 5, 6, 7));
  });

  it('alternates areas so wear is spread over both', async () => {
    const medium = newMedium();
    const store = await medium.open();
    for (let i = 0; i < 300; i++) await store.put('k', new Uint8Array(40).fill(i & 255));
    const erases = medium.memory.eraseCounts.get('state') as Uint32Array;
    expect(Math.min(...erases)).toBeGreaterThan(0);
    expect(Math.max(...erases) - Math.min(...erases)).toBeLessThanOrEqual(1);
  });

  it('refuses a write whose result cannot fit, without losing anything', async () => {
    const medium = newMedium();
    const store = await medium.open();
    await store.put('keep', bytes(7));
    await expect(store.put('huge', new Uint8Array(600))).rejects.toBeInstanceOf(StoreFullError);
    for (let i = 0; i < 7; i++) await store.put(`fill${i}`, new Uint8Array(30)); // compacted: 16 + 32 + 7 × 56 = 440 of 512 bytes
    await expect(store.put('more', new Uint8Array(100))).rejects.toBeInstanceOf(StoreFullError);
    const again = await medium.open();
    expect(again.get('keep')).toEqual(bytes(7));
    expect(again.keys().length).toBe(8);
    // Deleting frees space: a batch that deletes and puts is judged by its result.
    await again.batch([{ kind: 'delete', key: 'fill0' }, { kind: 'delete', key: 'fill1' }, { kind: 'put', key: 'more', value: new Uint8Array(60) }]);
    expect((await medium.open()).get('more')?.length).toBe(60);
  });

  it('validates arguments with typed errors', async () => {
    const store = await newMedium().open();
    await expect(store.put('', bytes(1))).rejects.toBeInstanceOf(StoreUsageError);
    await expect(store.batch([{ kind: 'put', key: 'x', value: 'nope' as unknown as Uint8Array }])).rejects.toBeInstanceOf(StoreUsageError);
    await expect(store.put('x'.repeat(2000), bytes(1))).rejects.toBeInstanceOf(StoreUsageError);
    const memory = new MockFlashMemory({ blockLength: 256, writeAlign: 8, partitions: [{ name: 'tiny', size: 256 }] });
    const tiny = await createMockFlash(memory, new PowerCut()).open({ partition: 'tiny' });
    await expect(KeyValueStore.open(tiny)).rejects.toBeInstanceOf(StoreUsageError);
  });

  it('serialises concurrent writers in call order', async () => {
    const medium = newMedium();
    const store = await medium.open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.put('k', bytes(i))));
    expect(store.get('k')).toEqual(bytes(49));
    expect((await medium.open()).get('k')).toEqual(bytes(49));
  });

  it('close is idempotent and later calls throw', async () => {
    const store = await newMedium().open();
    await store.put('k', bytes(1));
    await store.close();
    await store.close();
    expect(() => store.get('k')).toThrow(StoreClosedError);
    await expect(store.put('k', bytes(2))).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('stores structured values as CBOR, bytes included', async () => {
    const medium = newMedium();
    const store = await medium.open();
    await putValue(store, 'job', { state: 'downloading', offset: 4096, hashState: bytes(1, 2, 3), tags: ['a'] });
    const job = getValue<{ state: string; offset: number; hashState: Uint8Array }>(await medium.open(), 'job');
    expect(job?.state).toBe('downloading');
    expect(job?.offset).toBe(4096);
    expect(Array.from(job?.hashState ?? [])).toEqual([1, 2, 3]);
  });
});

describe('KeyValueStore on a tampered medium', () => {
  async function filled() {
    const medium = newMedium();
    const store = await medium.open();
    for (let i = 0; i < 6; i++) await store.put(`k${i}`, new Uint8Array(20).fill(i + 1));
    return { medium, expected: snapshot(store) };
  }

  it('reports a damaged record in the middle of the log and still recovers the records after it', async () => {
    const { medium, expected } = await filled();
    const cells = medium.memory.cells.get('state') as Uint8Array;
    const live = cells.subarray(0, 16)[4] === 1 ? 0 : 512;
    medium.memory.corrupt('state', live + 16 + 14 + 48); // inside the second record's payload
    const store = await medium.open();
    expect(store.report.corruption).toHaveLength(1);
    expect(store.report.corruption[0]).toMatchObject({ kind: 'damagedRecord' });
    expect(store.has('k1')).toBe(false);
    for (const key of ['k0', 'k2', 'k3', 'k4', 'k5']) expect(hex(store.get(key) as Uint8Array)).toBe(expected.get(key));
    // The next write rewrites a clean log: the report clears on the following open.
    await store.put('k1', new Uint8Array(20).fill(2));
    expect((await medium.open()).report.corruption).toEqual([]);
  });

  it('reports a medium that holds data but no valid area header, and opens empty', async () => {
    const { medium } = await filled();
    medium.memory.corrupt('state', 0);
    medium.memory.corrupt('state', 512);
    const store = await medium.open();
    expect(store.report.fresh).toBe(false);
    expect(store.report.corruption.map((c) => c.kind)).toEqual(['noValidArea']);
    expect(store.keys()).toEqual([]);
    await store.put('new', bytes(1));
    expect((await medium.open()).get('new')).toEqual(bytes(1));
  });

  it('treats garbage at the end of the log as a torn tail and never appends after it', async () => {
    const { medium, expected } = await filled();
    const store0 = await medium.open();
    const used = store0.stats().usedBytes;
    const cells = medium.memory.cells.get('state') as Uint8Array;
    const live = cells[4] === 1 ? 0 : 512;
    cells[live + used] = 0xa5; // a record marker with nothing valid behind it
    const store = await medium.open();
    expect(store.report.tornTail).toBe(true);
    expect(snapshot(store)).toEqual(expected);
    await store.put('z', bytes(1));
    const again = await medium.open();
    expect(again.report.tornTail).toBe(false);
    expect(again.get('z')).toEqual(bytes(1));
  });

  it('uses the layout the tests assume', () => {
    expect(LAYOUT.partitions[0]?.size).toBe(1024);
  });
});
