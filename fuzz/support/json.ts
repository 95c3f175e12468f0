/** Helpers for targets whose input is JSON text (board profiles, configs, package lists). */
import { below } from '../random.ts';
import { perturb, randomValue, type Vocabulary } from './values.ts';

const encoder = new TextEncoder();
// As Node reads a file as UTF-8: invalid sequences become U+FFFD and a BOM stays in the text.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export const jsonBytes = (value: unknown, pretty = false): Uint8Array => encoder.encode(JSON.stringify(value, null, pretty ? 2 : undefined));
export const textOf = (input: Uint8Array): string => decoder.decode(input);

/** The input parsed as JSON; SyntaxError (the accepted outcome for non-JSON) propagates. */
export function parseJson(input: Uint8Array): unknown {
  return JSON.parse(textOf(input));
}

/** A generator of JSON texts: a sample perturbed (most of the time) or a random value. */
export function jsonGenerator(samples: readonly unknown[], vocabulary: Vocabulary): (random: () => number) => Uint8Array {
  return (random) => {
    const sample = samples[below(random, samples.length)];
    let value = random() < 0.8 ? perturb(sample, random, vocabulary) : randomValue(random, vocabulary);
    if (random() < 0.3) value = perturb(value, random, vocabulary);
    return jsonBytes(value, random() < 0.5);
  };
}
