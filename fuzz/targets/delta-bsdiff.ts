/** bsdiff apply (BSDIFF40 with bzip2 blocks) over patch bytes, seeds from the real bsdiff; both engines must agree. */
import type { FuzzTarget } from '../types.ts';
import { isDeltaError, runBoth, toolSeeds } from './delta-support.ts';

export const target: FuzzTarget = {
  name: 'delta-bsdiff',
  seeds: () => toolSeeds([['bsdiff', 'SRC', 'TGT', 'PATCH']]),
  run: runBoth,
  isExpected: isDeltaError,
  timeoutMs: 2000,
};
