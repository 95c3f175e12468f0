/**
 * Opening a store reads its areas a chunk at a time (agent/store/recovery.ts), never a whole area:
 * on a small board the package DB partition read at once was most of the QuickJS heap peak. The
 * scan must find the same live set, torn tail and damage as before across chunk boundaries.
 */
import { describe, expect, it } from 'vitest';
import { KeyValueStore } from '../../agent/store/index.ts';
import { erasedCheckBytes, SCAN_CHUNK_BYTES } from '../../agent/store/recovery.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import type { FlashPartition } from '../../hal/types.ts';
import { prng } from './workload.ts';

const AREA = 64 * 1024;
const LAYOUT = { blockLength: 4096, writeAlign: 4, partitions: [{ name: 'pkgdb', size: 2 * AREA }] };
const BIG = 10_000; // one value longer than a scan chunk

function medium(layout = LAYOUT) {
  const memory = new MockFlashMemory(layout);
  const power = new PowerCut();
  const flash = createMockFlash(memory, power);
  const reads: number[] = [];
  const open = async () => {
    const partition = await flash.open({ partition: 'pkgdb' });
    // Every read the store makes, by length.
    const counted: FlashPartition = {
      name: partition.name,
      status: () => partition.status(),
      read: (offset, length) => {
        reads.push(length);
        return partition.read(offset, length);
      },
      write: (offset, bytes) => partition.write(offset, bytes),
      eraseBlock: (index) => partition.eraseBlock(index),
      close: () => partition.close(),
    };
    return KeyValueStore.open(counted);
  };
  return { memory, power, reads, open };
}

async function fill(store: KeyValueStore, seed: number): Promise<Map<string, number>> {
  const random = prng(seed);
  const expected = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const key = `pkg/${Math.floor(random() * 60)}`;
    const size = i === 200 ? BIG : 1 + Math.floor(random() * 90);
    await store.put(key, new Uint8Array(size).fill(i & 0xff));
    expected.set(key, size);
  }
  return expected;
}

function contents(store: KeyValueStore): Map<string, number> {
  return new Map(store.keys().map((key) => [key, store.get(key)!.length]));
}

describe('store recovery scans in bounded chunks', () => {
  it('replays a long log across chunk boundaries with no read larger than a chunk or the largest record', async () => {
    const m = medium();
    const expected = await fill(await m.open(), 1);
    m.reads.length = 0;
    const again = await m.open();
    expect(contents(again)).toEqual(expected);
    expect(again.report).toMatchObject({ tornTail: false, corruption: [] });
    expect(again.report.records).toBeGreaterThan(100);
    expect(Math.max(...m.reads)).toBeLessThanOrEqual(BIG + 128);
    expect(m.reads.filter((length) => length > SCAN_CHUNK_BYTES)).toHaveLength(1); // the big record, read whole once
  });

  it('finds a torn tail after a power cut in the middle of a write', async () => {
    const m = medium();
    const store = await m.open();
    await fill(store, 2);
    const before = contents(await m.open());
    m.power.cutAfter(1);
    await expect(store.put('pkg/torn', new Uint8Array(6000).fill(7))).rejects.toThrow();
    m.power.restore();
    const again = await m.open();
    expect(contents(again)).toEqual(before);
    expect(again.report.tornTail).toBe(true);
    expect(again.report.corruption).toEqual([]);
  });

  it('skips a damaged record in the middle and resumes at the next valid one (damage, not a torn tail)', async () => {
    const m = medium();
    const store = await m.open();
    const random = prng(3);
    for (let i = 0; i < 300; i++) await store.put(`k${i}`, new Uint8Array(20 + Math.floor(random() * 40)).fill(1));
    // The log (about 20 KiB) has not needed a compaction, so area 0 is live: flip a bit well inside it.
    expect((await m.open()).report.generation).toBe(1);
    m.memory.corrupt('pkgdb', 3 * SCAN_CHUNK_BYTES + 100);
    const again = await m.open();
    expect(again.report.tornTail).toBe(false);
    expect(again.report.corruption).toHaveLength(1);
    expect(again.report.corruption[0]).toMatchObject({ kind: 'damagedRecord', area: 0 });
    expect(again.keys().length).toBe(299); // one record lost, every later one kept
    expect(again.has('k299')).toBe(true);
  });

  it('checks a large blank partition in few, bounded reads and still sees one programmed byte (issue 12)', async () => {
    const area = 4 * 1024 * 1024;
    const m = medium({ blockLength: 4096, writeAlign: 8, partitions: [{ name: 'pkgdb', size: 2 * area }] });
    const blank = await m.open();
    expect(blank.report).toMatchObject({ fresh: true, corruption: [] });
    // Both areas checked 256 KiB at a time: 32 reads, not the 2 048 a 4 KiB step took.
    expect(erasedCheckBytes(area)).toBe(256 * 1024);
    expect(m.reads.length).toBeLessThanOrEqual(2 * (area / erasedCheckBytes(area)) + 2);
    expect(Math.max(...m.reads)).toBeLessThanOrEqual(256 * 1024);
    // A small board's area is still read in small steps.
    expect(erasedCheckBytes(128 * 1024)).toBe(8 * 1024);
    // One byte programmed near the end of the second area is not a blank medium.
    m.memory.corrupt('pkgdb', 2 * area - 3);
    const damaged = await m.open();
    expect(damaged.report.fresh).toBe(false);
    expect(damaged.report.corruption).toMatchObject([{ kind: 'noValidArea' }]);
  });

  it('finds a stray byte deep in the free tail of a live area (read in large steps) and rewrites the area', async () => {
    const area = 1024 * 1024;
    const m = medium({ blockLength: 4096, writeAlign: 8, partitions: [{ name: 'pkgdb', size: 2 * area }] });
    const store = await m.open();
    await store.put('a', new Uint8Array(100).fill(1));
    await store.put('b', new Uint8Array(100).fill(2));
    expect((await m.open()).report).toMatchObject({ tornTail: false, corruption: [], records: 2 });
    m.memory.corrupt('pkgdb', area - 5);
    const again = await m.open();
    expect(again.get('a')).toEqual(new Uint8Array(100).fill(1));
    expect(again.get('b')).toEqual(new Uint8Array(100).fill(2));
    expect(again.report.tornTail).toBe(true);
  });
});
