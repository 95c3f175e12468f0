/**
 * The package-list reader of `dm-agent diff` (cli/json-list.ts): the chunked scanner, fed the
 * input in pieces, must agree with the whole-file path (JSON.parse) on every array — same
 * values, or both refuse — and refuse with JsonListError only.
 */
import { isDeepStrictEqual } from 'node:util';
import { JsonArrayScanner, JsonListError, keepDiffFields } from '../../cli/json-list.ts';
import type { FuzzTarget } from '../types.ts';
import { jsonBytes, jsonGenerator, textOf } from '../support/json.ts';
import { vocabularyOf } from '../support/values.ts';

const digest = '0'.repeat(64);
const samples: unknown[] = [
  [],
  [{ name: 'maps', version: '1.0.0' }],
  [{ name: 'a', version: '1', digest, optional: true, extra: [1, { x: '[' }] }, { name: 'b\\"', version: '2' }, 'not an entry', 7, null],
  [[1, 2], { name: 'c', version: '3', nested: { deep: [[[]]] } }],
];
const vocabulary = vocabularyOf(samples, { strings: [']', '[', ',', '\\', '"'] });

/** Feeds the input in chunks whose sizes follow from the input (deterministic per input). */
function streamed(input: Uint8Array): unknown[] {
  const scanner = new JsonArrayScanner();
  let step = 1 + ((input[0] ?? 0) % 7) * ((input.length >> 3) + 1);
  for (let at = 0; at < input.length; at += step, step = 1 + ((step * 31 + 7) % 97)) scanner.feed(input.subarray(at, at + step));
  return scanner.end();
}

function whole(input: Uint8Array): unknown {
  const value = JSON.parse(textOf(input));
  return Array.isArray(value) ? value.map(keepDiffFields) : value;
}

export const target: FuzzTarget = {
  name: 'json-list',
  seeds: () => samples.map((sample, i) => jsonBytes(sample, i % 2 === 0)),
  generate: jsonGenerator(samples, vocabulary),
  run(input) {
    let wholeValue: unknown;
    let wholeError: unknown;
    try {
      wholeValue = whole(input);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      wholeError = error;
    }
    let streamValue: unknown[];
    try {
      streamValue = streamed(input);
    } catch (error) {
      if (!(error instanceof JsonListError)) throw error;
      // The streamed path only reads arrays: a whole-file value that is not one is fine to refuse.
      if (wholeError === undefined && (error.code !== 'notArray' || Array.isArray(wholeValue)))
        throw new Error(`the streamed read refused what JSON.parse accepts: ${error.message}`);
      throw error;
    }
    if (wholeError !== undefined) throw new Error(`the streamed read accepted what JSON.parse refuses: ${(wholeError as Error).message}`);
    if (!isDeepStrictEqual(streamValue, wholeValue)) throw new Error('the streamed and whole-file reads disagree on the values');
  },
  isExpected: (error) => error instanceof JsonListError,
};
