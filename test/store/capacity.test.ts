/**
 * Issue 9 item 1: compaction must never overflow its area. A write is admitted by the size the
 * live set needs once compacted (one record per key), deletes are never refused, and the store
 * throws only its own typed errors: whatever is written, the store never becomes unwritable.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlashError } from '../../hal/errors.ts';
import type { FlashPartition } from '../../hal/types.ts';
import { KeyValueStore, StoreFullError, StoreIoError, type StoreOp } from '../../agent/store/index.ts';
import { TearableNor } from './nor-flash.ts';
import { hex, snapshot } from './workload.ts';

const key = (i: number) => `k${String(i).padStart(2, '0')}`;

function model(state: Map<string, string>, ops: readonly StoreOp[]): Map<string, string> {
  const next = new Map(state);
  for (const op of ops) {
    if (op.kind === 'put') next.set(op.key, hex(op.value));
    else next.delete(op.key);
  }
  return next;
}

describe('store capacity: admission by compacted size', () => {
  it('refuses a many-key batch whose keys would not fit one record each, and deletes keep working (regression)', async () => {
    // 256-byte blocks, 2 areas of 512 bytes. 30 one-byte values fit one 352-byte record but need ~30 × 32 bytes compacted.
    const nor = new TearableNor(256, 4, 8);
    const store = await KeyValueStore.open(nor);
    await store.put('first', Uint8Array.of(1));
    const batch: StoreOp[] = Array.from({ length: 30 }, (_, i) => ({ kind: 'put', key: key(i), value: Uint8Array.of(i) }));
    await expect(store.batch(batch)).rejects.toBeInstanceOf(StoreFullError);
    expect(snapshot(store)).toEqual(new Map([['first', '01']]));
    expect(store.stats().liveBytes).toBeLessThanOrEqual(store.stats().areaLength);
    // What did fit goes in, and every delete and the reboot after it still work.
    for (let i = 0; i < 10; i++) await store.put(key(i), Uint8Array.of(i));
    for (let i = 0; i < 12; i++) await store.delete(key(i));
    const again = await KeyValueStore.open(nor);
    expect(again.keys()).toEqual(['first']);
    await again.put('after', Uint8Array.of(2));
    expect((await KeyValueStore.open(nor)).get('after')).toEqual(Uint8Array.of(2));
  });

  it('random batch sizes and geometries never leave an unwritable store', async () => {
    const geometry = fc
      .record({ blockLength: fc.constantFrom(64, 128, 256, 512), blocks: fc.integer({ min: 2, max: 5 }), alignLog: fc.integer({ min: 0, max: 5 }) })
      .map(({ blockLength, blocks, alignLog }) => ({ blockLength, blocks, writeAlign: Math.min(1 << alignLog, blockLength / 4) }));
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), key: fc.integer({ min: 0, max: 59 }).map(key), value: fc.uint8Array({ maxLength: 160 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 59 }).map(key) }) },
    );
    const batches = fc.array(fc.array(op, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 30 });
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(geometry, batches, async (geo, steps) => {
        const nor = new TearableNor(geo.blockLength, geo.blocks, geo.writeAlign);
        let store = await KeyValueStore.open(nor);
        let state = new Map<string, string>();
        for (const ops of steps) {
          try {
            await store.batch(ops);
            state = model(state, ops);
          } catch (error) {
            // The only refusal is the store's own "full", never for deletes, and nothing was lost.
            expect(error).toBeInstanceOf(StoreFullError);
            expect(ops.some((o) => o.kind === 'put')).toBe(true);
            refused++;
            expect(snapshot(store)).toEqual(state);
            store = await KeyValueStore.open(nor);
            expect(snapshot(store)).toEqual(state);
            const victim = store.keys()[0];
            if (victim !== undefined) {
              await store.delete(victim);
              state.delete(victim);
            }
          }
          const stats = store.stats();
          expect(stats.liveBytes).toBeLessThanOrEqual(stats.areaLength);
        }
        // Reboot, then every delete one at a time, then a write: always possible.
        store = await KeyValueStore.open(nor);
        expect(snapshot(store)).toEqual(state);
        for (const k of store.keys()) await store.delete(k);
        await store.put('end', Uint8Array.of(1));
        expect(snapshot(await KeyValueStore.open(nor))).toEqual(new Map([['end', '01']]));
      }),
      { numRuns: 150, seed: 0x5707e },
    );
    expect(refused).toBeGreaterThan(0); // the generator does reach a full store
  }, 120_000);

  it('turns flash failures into StoreIoError and never appends after a failed write', async () => {
    const nor = new TearableNor(256, 4, 8);
    let failNext = false;
    const flaky: FlashPartition = {
      name: 'state',
      status: () => nor.status(),
      read: (offset, length) => nor.read(offset, length),
      eraseBlock: (index) => nor.eraseBlock(index),
      close: () => undefined,
      async write(offset, bytes) {
        if (failNext) {
          failNext = false;
          // Part of it landed before the failure.
          await nor.write(offset, bytes.map((b, i) => (i < 8 ? b : 0xff)));
          throw new FlashError('io', 'program verify failed');
        }
        return nor.write(offset, bytes);
      },
    };
    const store = await KeyValueStore.open(flaky);
    await store.put('a', Uint8Array.of(1));
    failNext = true;
    const error = await store.put('b', Uint8Array.of(2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreIoError);
    expect((error as StoreIoError).cause).toBeInstanceOf(FlashError);
    expect(snapshot(store)).toEqual(new Map([['a', '01']]));
    await store.put('c', Uint8Array.of(3));
    expect(snapshot(await KeyValueStore.open(flaky))).toEqual(new Map([['a', '01'], ['c', '03']]));
  });
});
