/**
 * The shape every fuzz target has. `npm run fuzz` (fuzz/run.ts) runs each registered target for a
 * number of inputs (≥ 1 000 000 in the full campaign; a short smoke inside `npm test`), each input
 * bounded in time, and counts uncaught exceptions, hangs and errors that are not the parser's own
 * typed errors. A crashing input is kept as a regression test.
 *
 * A target lives in fuzz/targets/<name>.ts and exports `target`.
 */
export interface FuzzTarget {
  /** Short name used on the command line (`npm run fuzz -- --only cbor`) and in the report. */
  readonly name: string;
  /** Well-formed starting inputs that the mutator derives new inputs from. */
  seeds(): Uint8Array[];
  /**
   * Optional structure-aware generator: a fresh input from a random source (values in [0, 1)).
   * Without one, inputs are mutations of the seeds.
   */
  generate?(random: () => number): Uint8Array;
  /** Feed one input to the parser under test. Must return (or reject) within `timeoutMs`. */
  run(input: Uint8Array): void | Promise<void>;
  /** True when `error` is one of the parser's own typed errors (the accepted outcome for bad input). */
  isExpected(error: unknown): boolean;
  /** Per-input time bound in ms (default 1000). */
  readonly timeoutMs?: number;
}
