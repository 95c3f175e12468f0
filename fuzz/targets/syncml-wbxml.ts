/**
 * SyncML WBXML tokenizer, WASM vs JS engine (fuzz/targets/syncml-check.ts): same output or same typed
 * error for every input, lenient and strict. Seeds: the conformance WBXML corpus when present.
 */
import { syncmlTarget } from './syncml-check.ts';
import { generateWbxml } from './syncml-generate.ts';
import { corpusSeeds } from './syncml-seeds.ts';

export const target = await syncmlTarget('syncml-wbxml', 'wbxml', () => corpusSeeds(/\.wbxml$/), generateWbxml);
