/** The agent config file (`dm-agent run --config`): only ConfigError (or non-JSON) may come out. */
import { ConfigError, parseConfig } from '../../agent/config.ts';
import type { FuzzTarget } from '../types.ts';
import { jsonBytes, jsonGenerator, parseJson } from '../support/json.ts';
import { vocabularyOf } from '../support/values.ts';

const samples: unknown[] = [
  { delivery: { manager: 'http://127.0.0.1:8080' } },
  { engine: 'js', logLevel: 'debug', users: ['alice', 'bob'], delivery: { manager: 'https://m.example/' } },
  { trust: { allowUnsigned: true }, delivery: { manager: 'https://m.example/' } },
  { engine: 'auto', logLevel: 'warn' },
  {},
];
const vocabulary = vocabularyOf(samples, {
  keys: ['schedule', 'pollIntervalMs', 'window', 'battery', 'network', 'requestTimeoutMs', 'retry', 'conditions', 'firmware', 'syncml'],
  strings: ['wasm', 'error', 'info'],
});

export const target: FuzzTarget = {
  name: 'config',
  seeds: () => samples.map((sample) => jsonBytes(sample)),
  generate: jsonGenerator(samples, vocabulary),
  run(input) {
    parseConfig(parseJson(input));
  },
  isExpected: (error) => error instanceof SyntaxError || error instanceof ConfigError,
};
