/**
 * The canonical-JSON parser and serializer of agent/trust (what every signature is checked over).
 * Refusals must be TrustError only; whatever it accepts, JSON.parse must read as the same value
 * (two parsers, one document: a signature cannot mean two things), and the canonical form must be
 * a fixed point (parse ∘ canonicalize is the identity on it).
 */
import { isDeepStrictEqual } from 'node:util';
import { canonicalize, parseJson, type JsonLimits } from '../../agent/trust/canonical-json.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import type { FuzzTarget } from '../types.ts';
import { jsonBytes, jsonGenerator, textOf } from '../support/json.ts';
import { vocabularyOf } from '../support/values.ts';

const LIMITS: JsonLimits = { maxBytes: 64 * 1024, maxDepth: 12, maxValues: 4096 };

const samples: unknown[] = [
  { signed: { _type: 'targets', version: 3, expires: '2030-01-01T00:00:00Z', targets: { 'packages/a/1.0.0': { length: 12, hashes: { sha256: '0'.repeat(64) }, custom: { version: '1.0.0' } } } }, signatures: [{ keyid: 'ab', sig: 'cd' }] },
  { a: ['é', '😀', '\\"', '\u0000'], b: -9007199254740991, c: [true, false, null, {}] },
  ['\ud83d\ude00', '', 0, -1],
];
const vocabulary = vocabularyOf(samples, { strings: ['\\u', '\\ud800', '"', '\\', '1.5', '1e3', '__proto__'] });

export const target: FuzzTarget = {
  name: 'trust-canonical-json',
  seeds: () => samples.map((sample, i) => jsonBytes(sample, i % 2 === 0)),
  generate: jsonGenerator(samples, vocabulary),
  run(input) {
    const value = parseJson(input, LIMITS);
    const reference: unknown = JSON.parse(textOf(input));
    if (!isDeepStrictEqual(normalise(value), normalise(reference))) throw new Error('accepted a document JSON.parse reads differently');
    const canonical = canonicalize(value);
    if (canonicalize(parseJson(canonical, { ...LIMITS, maxBytes: LIMITS.maxBytes * 6 })) !== canonical) throw new Error('canonical form is not a fixed point');
  },
  isExpected: (error) => error instanceof TrustError,
};

/** Plain objects with sorted keys (JSON.parse gives `__proto__` a setter-free own key too, via reviver-less parse). */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object' && value !== null) {
    const out: [string, unknown][] = Object.keys(value).sort().map((k) => [k, normalise((value as Record<string, unknown>)[k])]);
    return out;
  }
  return value;
}
