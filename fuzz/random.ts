/**
 * Deterministic randomness for the fuzzer. Every input has its own generator seeded from
 * (campaign seed, input index), so input #i of a run can be rebuilt alone (`--seed S --from i
 * --inputs 1`) and a worker restarted after a hang continues the same sequence.
 */

/** mulberry32 (shared with the benchmarks): small, fast, good enough to drive mutations. */
import { prng as mulberry32 } from '../bench/lib.ts';
export { mulberry32 }; // kept for its importers (test/wasm/syncml-engines.property.test.ts) after the merge

/** The generator for input `index` of a campaign started with `seed`. */
export function inputRandom(seed: number, index: number): () => number {
  // Mix the two 32-bit halves (murmur3 finaliser) so neighbouring indices start far apart.
  let h = (seed ^ Math.imul(index, 0x9e3779b1) ^ Math.floor(index / 4294967296)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return mulberry32((h ^ (h >>> 16)) >>> 0);
}

/** An integer in [0, n). */
export function below(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
