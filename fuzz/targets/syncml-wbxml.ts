/**
 * SyncML WBXML tokenizer, WASM vs JS engine (fuzz/targets/syncml-check.ts): same output or same
 * typed error for every input, lenient and strict. Seeds: the conformance WBXML corpus when present.
 */
import { loadEngines, SyncmlError } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import type { FuzzTarget } from '../types.ts';
import { checkEngines } from './syncml-check.ts';
import { generateWbxml } from './syncml-generate.ts';
import { corpusSeeds } from './syncml-seeds.ts';

const wasm = await loadEngines({ wasm: createNodeWasmHost(), engine: 'wasm' });
const js = await loadEngines({ engine: 'js' });

export const target: FuzzTarget = {
  name: 'syncml-wbxml',
  seeds: () => corpusSeeds(/\.wbxml$/),
  generate: generateWbxml,
  run(input) {
    const error = checkEngines(wasm, js, input, 'wbxml');
    if (error) throw error;
  },
  isExpected: (error) => error instanceof SyncmlError,
};
