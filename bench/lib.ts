/**
 * Measurement helpers. Contenders of one benchmark run interleaved, one call each per round in
 * a rotating order, so load from other processes on a shared machine (common here: two cores)
 * hits all of them alike; each contender's value is the median of its rounds. Every contender is
 * warmed up first: V8 runs a long WASM function on its baseline tier until the optimised code is
 * ready, and JS needs its own warm-up.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface Contender {
  name: string;
  /** One timed run; returns something derived from the work so it cannot be optimised away. */
  run(): unknown;
}

/**
 * A full GC before every timed run (outside the timing), so each run pays for collecting its own
 * garbage rather than that of the contender before it. `--expose-gc` is switched on at runtime
 * because `npm run bench` starts node without it.
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

export interface Measured {
  name: string;
  /** Milliseconds, one per round. */
  times: number[];
  median: number;
}

export interface MeasureOptions {
  rounds: number;
  warmups: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

let sink: unknown;

export function measure(contenders: readonly Contender[], options: MeasureOptions): Measured[] {
  for (const contender of contenders) for (let i = 0; i < options.warmups; i++) sink = contender.run();
  const times = contenders.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + round) % contenders.length;
      sink = undefined;
      collect();
      const start = performance.now();
      const result = (contenders[index] as Contender).run();
      (times[index] as number[]).push(performance.now() - start);
      sink = result;
    }
  }
  sink = undefined;
  return contenders.map((contender, index) => ({ name: contender.name, times: times[index] as number[], median: median(times[index] as number[]) }));
}

export function consume(): unknown {
  return sink;
}

/** Deterministic PRNG (mulberry32) so every run benchmarks the same data. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
