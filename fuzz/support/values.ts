/**
 * Structure-aware generation for targets whose parsers take JSON-like values (CBOR messages,
 * board profiles, configs): random trees whose keys and strings come mostly from a vocabulary
 * (the schema's own field names and enum values), so most inputs get past the first field check
 * and exercise the deep parts of a validator.
 */
import { below } from '../random.ts';

/** Keys that select behaviour by lookup in badly written code (issue 9, item 6). */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

const NUMBERS = [0, 1, -1, 2, 255, 256, 4096, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e300, -0, 0.5, Number.NaN, Infinity, -Infinity];
const STRINGS = ['', 'a', 'x'.repeat(300), 'http://127.0.0.1:1/', 'https://u:p@h/x?sig=1', '\u0000', '../..', '\ud800', 'é', '0'.repeat(64), 'f'.repeat(64)];

export interface Vocabulary {
  keys: readonly string[];
  strings: readonly string[];
}

export function randomValue(random: () => number, vocabulary: Vocabulary, depth = 0): unknown {
  const roll = below(random, depth > 4 ? 6 : 10);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return NUMBERS[below(random, NUMBERS.length)];
    case 3:
      return below(random, 1 << below(random, 31));
    case 4:
    case 5:
      if (random() < 0.7) return vocabulary.strings[below(random, vocabulary.strings.length)];
      // Hostile keys as values too: a union tag or an enum looked up by value.
      return random() < 0.8 ? STRINGS[below(random, STRINGS.length)] : HOSTILE_KEYS[below(random, HOSTILE_KEYS.length)];
    case 6:
    case 7: {
      const count = below(random, 6);
      return Array.from({ length: count }, () => randomValue(random, vocabulary, depth + 1));
    }
    default: {
      const out: Record<string, unknown> = {};
      const count = below(random, 8);
      for (let i = 0; i < count; i++) {
        const key = random() < 0.9 ? (vocabulary.keys[below(random, vocabulary.keys.length)] as string) : (HOSTILE_KEYS[below(random, HOSTILE_KEYS.length)] as string);
        // defineProperty: an own `__proto__` key, as JSON.parse and CBOR decoders produce.
        Object.defineProperty(out, key, { value: randomValue(random, vocabulary, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** A valid value with one field replaced, removed or added at random (near-miss inputs). */
export function perturb(value: unknown, random: () => number, vocabulary: Vocabulary): unknown {
  if (value === null || typeof value !== 'object') return random() < 0.5 ? value : randomValue(random, vocabulary, 3);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const action = below(random, 4);
  if (keys.length === 0 || action === 0) {
    const key = Array.isArray(copy) ? String(copy.length) : (vocabulary.keys[below(random, vocabulary.keys.length)] as string);
    Object.defineProperty(copy, key, { value: randomValue(random, vocabulary, 2), enumerable: true, writable: true, configurable: true });
    return copy;
  }
  const key = keys[below(random, keys.length)] as string;
  const record = copy as Record<string, unknown>;
  if (action === 1) delete record[key];
  else if (action === 2) record[key] = randomValue(random, vocabulary, 2);
  else record[key] = perturb(record[key], random, vocabulary);
  return copy;
}

/** Every key and string literal found in the given sample values (a vocabulary from seeds). */
export function vocabularyOf(samples: readonly unknown[], extra: Partial<Vocabulary> = {}): Vocabulary {
  const keys = new Set<string>(extra.keys ?? []);
  const strings = new Set<string>(extra.strings ?? []);
  const walk = (value: unknown): void => {
    if (typeof value === 'string') strings.add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        keys.add(key);
        walk(inner);
      }
    }
  };
  samples.forEach(walk);
  return { keys: [...keys], strings: [...strings] };
}
