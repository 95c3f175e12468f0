import type { StoreOp } from '../../agent/store/index.ts';
import { KeyValueStore } from '../../agent/store/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';

/** Deterministic PRNG (mulberry32) so every run of the workload issues the same operations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Step = { kind: 'batch'; ops: StoreOp[] } | { kind: 'compact' };

/** A workload of puts, deletes, multi-key batches and explicit compactions; small areas force many automatic compactions. */
export function makeWorkload(seed: number, steps: number): Step[] {
  const random = prng(seed);
  const keys = ['state', 'context', 'pkg/alpha', 'pkg/βeta', 'job/1', 'counter', 'manager'];
  const out: Step[] = [];
  for (let i = 0; i < steps; i++) {
    const roll = random();
    if (roll < 0.05) {
      out.push({ kind: 'compact' });
      continue;
    }
    const count = roll < 0.25 ? 2 + Math.floor(random() * 3) : 1;
    const ops: StoreOp[] = [];
    for (let k = 0; k < count; k++) {
      const key = keys[Math.floor(random() * keys.length)] as string;
      if (random() < 0.2) ops.push({ kind: 'delete', key });
      else {
        const value = new Uint8Array(1 + Math.floor(random() * 48));
        for (let b = 0; b < value.length; b++) value[b] = Math.floor(random() * 256);
        value[0] = i & 0xff; // each step's value differs from the previous one
        ops.push({ kind: 'put', key, value });
      }
    }
    out.push({ kind: 'batch', ops });
  }
  return out;
}

export function apply(state: Map<string, string>, step: Step): Map<string, string> {
  const next = new Map(state);
  if (step.kind === 'batch')
    for (const op of step.ops) {
      if (op.kind === 'put') next.set(op.key, hex(op.value));
      else next.delete(op.key);
    }
  return next;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function snapshot(store: KeyValueStore): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of store.keys()) out.set(key, hex(store.get(key) as Uint8Array));
  return out;
}

export const LAYOUT = { blockLength: 256, writeAlign: 8, partitions: [{ name: 'state', size: 256 * 4 }] };

export function newMedium(): { memory: MockFlashMemory; power: PowerCut; open: () => Promise<KeyValueStore> } {
  const memory = new MockFlashMemory(LAYOUT);
  const power = new PowerCut();
  const flash = createMockFlash(memory, power);
  return { memory, power, open: async () => KeyValueStore.open(await flash.open({ partition: 'state' })) };
}

export async function runStep(store: KeyValueStore, step: Step): Promise<void> {
  if (step.kind === 'compact') await store.compact();
  else await store.batch(step.ops);
}
