/**
 * Fuzz target: store recovery over random and mutated flash images.
 *
 * Input: byte 0 picks a flash geometry, the rest is the partition image (cut or padded with
 * erased bytes to 2–8 blocks). The store is opened over it; the only acceptable failure is one of
 * the store's typed errors (StoreFormatError for a header of an unknown format). An opened store
 * must then be writable: a put succeeds, or — when the image's live set is over what one area
 * can take once compacted — a delete of every key succeeds and the put after it does; after a
 * reboot the write is there, nothing else changed, and no corruption is reported. Anything else
 * (a raw exception, a refused write, lost keys) is thrown as a plain Error: a finding.
 *
 * Seeds are images left by real workloads of the store (clean, and cut by a power failure at
 * many points) and images written by format 1 (test/store/fixtures/format-v1.json).
 */
import { readFileSync } from 'node:fs';
import { KeyValueStore, StoreError, StoreFullError } from '../../agent/store/index.ts';
import { encodeAreaHeader, encodePayload, encodeRecord, roundUp, type StoreOp } from '../../agent/store/format.ts';
import { PowerCutError } from '../../hal/errors.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { makeWorkload, runStep } from '../../test/store/workload.ts';
import type { FuzzTarget } from '../types.ts';

const GEOMETRIES = [
  { blockLength: 256, writeAlign: 8 },
  { blockLength: 128, writeAlign: 4 },
  { blockLength: 512, writeAlign: 16 },
  { blockLength: 64, writeAlign: 1 },
  { blockLength: 256, writeAlign: 1 },
  { blockLength: 1024, writeAlign: 32 },
  { blockLength: 512, writeAlign: 2 },
] as const;
const MAX_BLOCKS = 8;
const PROBE_KEY = 'fuzz/probe';
const PROBE = Uint8Array.of(0x00, 0xa5, 0xff, 0x01);

/** A failed check of the target's oracle (not one of the store's typed errors, so it counts). */
class RecoveryFinding extends Error {
  constructor(message: string, cause?: unknown) {
    super(cause instanceof Error ? `${message}: ${cause.name}: ${cause.message}` : message);
    this.name = 'RecoveryFinding';
  }
}

interface Medium {
  memory: MockFlashMemory;
  open(): Promise<KeyValueStore>;
}

function medium(geometry: number, image?: Uint8Array): Medium {
  const { blockLength, writeAlign } = GEOMETRIES[geometry % GEOMETRIES.length] as (typeof GEOMETRIES)[number];
  const blocks = Math.min(MAX_BLOCKS, Math.max(2, Math.ceil((image?.length ?? 0) / blockLength)));
  const memory = new MockFlashMemory({ blockLength, writeAlign, partitions: [{ name: 'state', size: blocks * blockLength }] });
  if (image) (memory.cells.get('state') as Uint8Array).set(image.subarray(0, blocks * blockLength));
  const flash = createMockFlash(memory, new PowerCut());
  return { memory, open: async () => KeyValueStore.open(await flash.open({ partition: 'state' })) };
}

function input(geometry: number, image: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + image.length);
  out[0] = geometry;
  out.set(image, 1);
  return out;
}

async function run(bytes: Uint8Array): Promise<void> {
  const { open } = medium(bytes[0] ?? 0, bytes.subarray(1));
  const store = await open(); // a StoreError here is an accepted outcome
  const before = new Map(store.keys().map((key) => [key, store.get(key) as Uint8Array]));
  let cleared = false;
  try {
    try {
      await store.put(PROBE_KEY, PROBE);
    } catch (error) {
      if (!(error instanceof StoreFullError)) throw error;
      // The image holds more than an area can take compacted: deletes must still work.
      await store.batch(store.keys().map((key): StoreOp => ({ kind: 'delete', key })));
      cleared = true;
      await store.put(PROBE_KEY, PROBE);
    }
  } catch (error) {
    throw new RecoveryFinding('the opened store refused a write', error);
  }
  let again: KeyValueStore;
  try {
    again = await open();
  } catch (error) {
    throw new RecoveryFinding('the store did not reopen after its own write', error);
  }
  if (again.report.corruption.length > 0 || again.report.tornTail) throw new RecoveryFinding(`reopened after a clean write with ${JSON.stringify(again.report)}`);
  const expected = cleared ? new Map<string, Uint8Array>() : before;
  expected.set(PROBE_KEY, PROBE);
  const keys = again.keys();
  if (keys.length !== expected.size) throw new RecoveryFinding(`reopened with ${keys.length} keys, expected ${expected.size}`);
  for (const key of keys) {
    const want = expected.get(key);
    const got = again.get(key) as Uint8Array;
    if (!want || want.length !== got.length || want.some((b, i) => b !== got[i])) throw new RecoveryFinding(`key ${JSON.stringify(key)} changed across the write`);
  }
}

// ───────────────────────────── seeds: images from real workloads ─────────────────────────────

/** One batch of the store's test workload (test/store/workload.ts), drawn from `random`. */
function randomOps(random: () => number): StoreOp[] {
  const [step] = makeWorkload(Math.floor(random() * 2 ** 32), 1);
  return step?.kind === 'batch' ? step.ops : [{ kind: 'delete', key: 'state' }];
}

/** Runs the test workload on a fresh medium, cut (a part of the write landing) at `cutAt` if given. */
async function workloadImage(geometry: number, seed: number, steps: number, cutAt?: number, landFraction = 0.5): Promise<Uint8Array> {
  const { blockLength, writeAlign } = GEOMETRIES[geometry] as (typeof GEOMETRIES)[number];
  const memory = new MockFlashMemory({ blockLength, writeAlign, partitions: [{ name: 'state', size: 4 * blockLength }] });
  const power = new PowerCut();
  power.landFraction = landFraction;
  const flash = createMockFlash(memory, power);
  const store = await KeyValueStore.open(await flash.open({ partition: 'state' }));
  if (cutAt !== undefined) power.cutAfter(cutAt);
  for (const step of makeWorkload(seed, steps)) {
    try {
      await runStep(store, step);
    } catch (error) {
      if (error instanceof PowerCutError) break;
      if (!(error instanceof StoreFullError)) throw error;
    }
  }
  return (memory.cells.get('state') as Uint8Array).slice();
}

async function buildSeeds(): Promise<Uint8Array[]> {
  const seeds: Uint8Array[] = [input(0, new Uint8Array(0))];
  for (let geometry = 0; geometry < GEOMETRIES.length; geometry++) {
    seeds.push(input(geometry, await workloadImage(geometry, 0x5eed + geometry, 80)));
    for (const cut of [3, 17, 40, 91, 150]) seeds.push(input(geometry, await workloadImage(geometry, 0x5eed + geometry, 120, cut, geometry % 2 ? 0.5 : 0.9)));
  }
  try {
    const legacy = JSON.parse(readFileSync(new URL('../../test/store/fixtures/format-v1.json', import.meta.url), 'utf8')) as Record<string, { hex?: string }>;
    for (const image of Object.values(legacy)) if (typeof image?.hex === 'string') seeds.push(input(0, Uint8Array.from(Buffer.from(image.hex, 'hex'))));
  } catch {
    // The fixture is a bonus seed; the workload images suffice without it.
  }
  return seeds;
}

const SEEDS = await buildSeeds();

/** A structured image: valid area headers and records, with torn, stale and random parts. */
function generate(random: () => number): Uint8Array {
  const geometry = Math.floor(random() * GEOMETRIES.length);
  const { blockLength, writeAlign } = GEOMETRIES[geometry] as (typeof GEOMETRIES)[number];
  const blocks = 2 + Math.floor(random() * (MAX_BLOCKS - 1));
  const areaLength = Math.floor(blocks / 2) * blockLength;
  const image = new Uint8Array(blocks * blockLength).fill(0xff);
  let sequence = Math.floor(random() * 1000);
  for (let area = 0; area < 2; area++) {
    if (random() < 0.2) continue;
    const base = area * areaLength;
    const version = random() < 0.85 ? 2 : random() < 0.5 ? 0x56 : Math.floor(random() * 256);
    image.set(encodeAreaHeader(Math.floor(random() * 5), random() < 0.95 ? areaLength : areaLength + 1, version), base);
    let offset = roundUp(16, writeAlign);
    while (offset < areaLength && random() < 0.9) {
      const ops = randomOps(random);
      const record = encodeRecord(random() < 0.9 ? ++sequence : Math.floor(random() * 2 ** 32), encodePayload(ops), writeAlign);
      const room = Math.min(record.length, areaLength - offset);
      const torn = random() < 0.1;
      for (let i = 0; i < room; i++) image[base + offset + i] = torn && random() < 0.3 ? (record[i] as number) | Math.floor(random() * 256) : (record[i] as number);
      offset += record.length;
    }
  }
  if (random() < 0.3) for (let n = Math.floor(random() * 8); n > 0; n--) image[Math.floor(random() * image.length)] = Math.floor(random() * 256);
  return input(geometry, image);
}

export const target: FuzzTarget = {
  name: 'store-recovery',
  seeds: () => SEEDS.map((seed) => seed.slice()),
  generate,
  run,
  isExpected: (error) => error instanceof StoreError,
  timeoutMs: 2000,
};
