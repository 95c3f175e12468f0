/**
 * Byte-level mutations of seed inputs (the AFL/libFuzzer repertoire without coverage feedback):
 * bit flips, random bytes, "interesting" integers (boundaries of 8/16/32-bit fields, both
 * endians), small arithmetic, byte inserts and deletes, block duplication, and splices and
 * copies from other seeds (which act as a dictionary of well-formed fragments).
 */
import { below } from './random.ts';

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f];
const INTERESTING_16 = [0x0000, 0x0080, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xffff, 0x0400, 0x1000];
const INTERESTING_32 = [0x00000000, 0x7fffffff, 0x80000000, 0xffffffff, 0x00010000, 0x0000ffff, 0x40000000];

type Mutation = (input: Uint8Array, random: () => number, seeds: readonly Uint8Array[], maxLength: number) => Uint8Array;

/** `bytes` inserted at `at`, the result cut to `maxLength`. */
function withBytes(input: Uint8Array, at: number, bytes: ArrayLike<number>, maxLength: number): Uint8Array {
  const out = new Uint8Array(input.length + bytes.length);
  out.set(input.subarray(0, at));
  out.set(bytes, at);
  out.set(input.subarray(at), at + bytes.length);
  return out.length > maxLength ? out.subarray(0, maxLength) : out;
}

function overwrite(input: Uint8Array, random: () => number, bytes: number[]): Uint8Array {
  if (input.length < bytes.length) return input;
  const out = input.slice();
  const at = below(random, input.length - bytes.length + 1);
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i] as number;
  return out;
}

function integerBytes(value: number, width: 2 | 4, bigEndian: boolean): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < width; i++) bytes.push((value >>> (8 * i)) & 0xff);
  return bigEndian ? bytes.reverse() : bytes;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[below(random, items.length)] as T;
}

const MUTATIONS: Mutation[] = [
  // flip one bit
  (input, random) => {
    if (input.length === 0) return input;
    const out = input.slice();
    const at = below(random, out.length);
    out[at] = (out[at] as number) ^ (1 << below(random, 8));
    return out;
  },
  // set one byte at random
  (input, random) => overwrite(input, random, [below(random, 256)]),
  // interesting 8-, 16- or 32-bit value
  (input, random) => {
    const width = below(random, 3);
    if (width === 0) return overwrite(input, random, [pick(random, INTERESTING_8)]);
    const value = width === 1 ? pick(random, INTERESTING_16) : pick(random, INTERESTING_32);
    return overwrite(input, random, integerBytes(value, width === 1 ? 2 : 4, random() < 0.5));
  },
  // small add/subtract on one byte (lengths and counts off by a few)
  (input, random) => {
    if (input.length === 0) return input;
    const out = input.slice();
    const at = below(random, out.length);
    out[at] = ((out[at] as number) + below(random, 35) - 17) & 0xff;
    return out;
  },
  // insert 1..16 random bytes, or a run of one byte
  (input, random, _seeds, maxLength) => {
    const count = 1 + below(random, 16);
    const run = random() < 0.5;
    const fill = below(random, 256);
    const bytes = Array.from({ length: count }, () => (run ? fill : below(random, 256)));
    return withBytes(input, below(random, input.length + 1), bytes, maxLength);
  },
  // delete a range
  (input, random) => {
    if (input.length === 0) return input;
    const at = below(random, input.length);
    const count = 1 + below(random, Math.min(input.length - at, 1 + below(random, 64)));
    const out = new Uint8Array(input.length - count);
    out.set(input.subarray(0, at));
    out.set(input.subarray(at + count), at);
    return out;
  },
  // duplicate a block of the input somewhere else in it
  (input, random, _seeds, maxLength) => {
    if (input.length === 0) return input;
    const from = below(random, input.length);
    const count = 1 + below(random, Math.min(input.length - from, 256));
    return withBytes(input, below(random, input.length + 1), input.subarray(from, from + count), maxLength);
  },
  // splice: this input's head with another seed's tail
  (input, random, seeds, maxLength) => {
    const other = pick(random, seeds);
    const head = below(random, input.length + 1);
    const tail = below(random, other.length + 1);
    const out = new Uint8Array(Math.min(maxLength, head + other.length - tail));
    out.set(input.subarray(0, Math.min(head, out.length)));
    if (head < out.length) out.set(other.subarray(tail, tail + out.length - head), head);
    return out;
  },
  // copy a fragment of another seed in (a dictionary of well-formed tokens)
  (input, random, seeds, maxLength) => {
    const other = pick(random, seeds);
    if (other.length === 0) return input;
    const from = below(random, other.length);
    const count = 1 + below(random, Math.min(other.length - from, 64));
    return withBytes(input, below(random, input.length + 1), other.subarray(from, from + count), maxLength);
  },
  // truncate
  (input, random) => input.subarray(0, below(random, input.length + 1)),
];

/** A mutant of `base`: a stack of 1..8 mutations (more mutations, further from the seed). */
export function mutate(base: Uint8Array, random: () => number, seeds: readonly Uint8Array[], maxLength: number): Uint8Array {
  let input = base;
  const depth = 1 + below(random, 1 + below(random, 8));
  for (let i = 0; i < depth; i++) input = (MUTATIONS[below(random, MUTATIONS.length)] as Mutation)(input, random, seeds.length > 0 ? seeds : [base], maxLength);
  return input;
}
