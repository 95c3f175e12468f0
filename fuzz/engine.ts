/**
 * The fuzzing loop, independent of threads: builds input #i (a seed, a generated input or a
 * mutant), feeds it to the target and classifies the outcome. `fuzz/run.ts` runs it inside a
 * worker thread under a watchdog (so a parser stuck in a loop is stopped and reported); the
 * smoke test in `npm test` runs it in-process for a few inputs per target.
 */
import type { FuzzTarget } from './types.ts';
import { mutate } from './mutate.ts';
import { below, inputRandom } from './random.ts';

export const DEFAULT_TIMEOUT_MS = 1000;
/** Mutants grow at most to this size (or twice the largest seed, whichever is larger). */
const MIN_MAX_LENGTH = 4096;

export type Outcome = { kind: 'accepted' } | { kind: 'rejected' } | { kind: 'unexpected' | 'hang'; message: string };
export type FindingKind = 'unexpected' | 'hang' | 'uncaught';

export interface Finding {
  target: string;
  kind: FindingKind;
  index: number;
  input: Uint8Array;
  message: string;
}

export interface Counts {
  inputs: number;
  accepted: number;
  /** Inputs refused with one of the parser's own typed errors. */
  rejected: number;
  unexpected: number;
  hangs: number;
  uncaught: number;
}

export const COUNT_KEYS = ['inputs', 'accepted', 'rejected', 'unexpected', 'hangs', 'uncaught'] as const;

export const emptyCounts = (): Counts => ({ inputs: 0, accepted: 0, rejected: 0, unexpected: 0, hangs: 0, uncaught: 0 });

export function addCounts(into: Counts, from: Counts): void {
  for (const key of COUNT_KEYS) into[key] += from[key];
}

export const findings = (counts: Counts): number => counts.unexpected + counts.hangs + counts.uncaught;

export function timeoutOf(target: FuzzTarget): number {
  return target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
}

/** Input #index of a campaign: the seeds first as they are, then generated inputs and mutants. */
export function inputSource(target: FuzzTarget, seed: number): (index: number) => Uint8Array {
  const seeds = target.seeds();
  const maxLength = Math.max(MIN_MAX_LENGTH, 2 * Math.max(0, ...seeds.map((s) => s.length)));
  const generate = target.generate?.bind(target);
  return (index) => {
    if (index < seeds.length) return seeds[index] as Uint8Array;
    const random = inputRandom(seed, index);
    if (generate && (seeds.length === 0 || random() < 0.5)) {
      const fresh = generate(random);
      return random() < 0.3 ? mutate(fresh, random, seeds, Math.max(maxLength, fresh.length)) : fresh;
    }
    const base = seeds.length > 0 ? (seeds[below(random, seeds.length)] as Uint8Array) : new Uint8Array(0);
    return mutate(base, random, seeds, maxLength);
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error.stack ?? `${error.name}: ${error.message}`).split('\n').slice(0, 6).join('\n');
  return `non-Error thrown: ${String(error)}`;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Runs one input. Synchronous targets are timed after they return (a true infinite loop is the
 * watchdog's job); asynchronous ones race a timer.
 */
export function runOne(target: FuzzTarget, input: Uint8Array): Outcome | Promise<Outcome> {
  const timeoutMs = timeoutOf(target);
  const started = performance.now();
  const late = (): Outcome | undefined => {
    const elapsed = performance.now() - started;
    return elapsed > timeoutMs ? { kind: 'hang', message: `took ${Math.round(elapsed)} ms (limit ${timeoutMs} ms)` } : undefined;
  };
  const classify = (error: unknown): Outcome => {
    if (error === TIMED_OUT) return { kind: 'hang', message: `no answer within ${timeoutMs} ms` };
    let expected: boolean;
    try {
      expected = target.isExpected(error);
    } catch (inner) {
      return { kind: 'unexpected', message: `isExpected threw: ${describe(inner)}` };
    }
    return late() ?? (expected ? { kind: 'rejected' } : { kind: 'unexpected', message: describe(error) });
  };
  let result: void | Promise<void>;
  try {
    result = target.run(input);
  } catch (error) {
    return classify(error);
  }
  if (!(result instanceof Promise)) return late() ?? { kind: 'accepted' };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), timeoutMs);
  });
  return Promise.race([result, deadline]).then(
    (): Outcome => late() ?? { kind: 'accepted' },
    classify,
  ).finally(() => clearTimeout(timer));
}

export interface LoopOptions {
  /** How many inputs, starting at `from`. */
  count: number;
  from?: number;
  input: (index: number) => Uint8Array;
  /** Called before each input runs (the worker copies it where the watchdog can find it). */
  beforeInput?: (index: number, input: Uint8Array) => void;
  onFinding: (finding: Finding) => void;
  /** Called after each input with the live counts. */
  afterInput?: (counts: Counts) => void;
  /** Called every `progressEvery` inputs with the counts so far. */
  onProgress?: (counts: Counts) => void;
  progressEvery?: number;
}

/** Feeds `count` inputs to the target and counts the outcomes. */
export async function fuzzLoop(target: FuzzTarget, options: LoopOptions): Promise<Counts> {
  const counts = emptyCounts();
  const from = options.from ?? 0;
  const every = options.progressEvery ?? 10_000;
  for (let index = from; index < from + options.count; index++) {
    const input = options.input(index);
    options.beforeInput?.(index, input);
    // Synchronous outcomes are not awaited: a microtask per input would cost more than most parsers.
    let outcome = runOne(target, input);
    if (outcome instanceof Promise) outcome = await outcome;
    // Wall time includes time the thread was not scheduled (a loaded machine, a GC pause): a slow
    // input is a hang only when it is slow again on its own second run.
    if (outcome.kind === 'hang') {
      outcome = runOne(target, input);
      if (outcome instanceof Promise) outcome = await outcome;
    }
    counts.inputs++;
    if (outcome.kind === 'accepted') counts.accepted++;
    else if (outcome.kind === 'rejected') counts.rejected++;
    else {
      if (outcome.kind === 'hang') counts.hangs++;
      else counts.unexpected++;
      options.onFinding({ target: target.name, kind: outcome.kind, index, input: input.slice(), message: outcome.message });
    }
    options.afterInput?.(counts);
    if (counts.inputs % every === 0) {
      options.onProgress?.(counts);
      // Let timers and I/O of asynchronous targets (and messages to the worker) run now and then.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return counts;
}
