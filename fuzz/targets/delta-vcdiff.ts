/** VCDIFF apply over patch bytes: xdelta3 default (LZMA, Adler-32) and plain patches as seeds; both engines must agree. */
import type { FuzzTarget } from '../types.ts';
import { isDeltaError, runBoth, toolSeeds } from './delta-support.ts';

export const target: FuzzTarget = {
  name: 'delta-vcdiff',
  seeds: () =>
    toolSeeds([
      ['xdelta3', '-e', '-f', '-s', 'SRC', 'TGT', 'PATCH'],
      ['xdelta3', '-e', '-f', '-S', 'none', '-A', '-n', '-s', 'SRC', 'TGT', 'PATCH'],
      ['xdelta3', '-e', '-f', '-S', 'none', '-s', 'SRC', 'TGT', 'PATCH'],
    ]),
  run: runBoth,
  isExpected: isDeltaError,
  timeoutMs: 2000,
};
