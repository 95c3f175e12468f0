/** Small helpers for the shared HAL suites (portable: no node:* imports). */
import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'vitest';
import { toHex } from '../../../agent/util/bytes.ts';
import type { HalError } from '../../../hal/errors.ts';
import type { SlotWriter } from '../../../hal/types.ts';

type ErrorClass = abstract new (...args: never[]) => HalError;

/** Asserts that `action` fails (throws or rejects) with `type` and, if given, `code`. */
export async function expectFailure(action: () => unknown, type: ErrorClass, code?: string): Promise<HalError> {
  let failure: unknown;
  try {
    await action();
  } catch (error) {
    failure = error;
  }
  expect(failure, `expected ${type.name}${code ? ` (${code})` : ''}`).toBeInstanceOf(type);
  if (code !== undefined) expect((failure as HalError).code).toBe(code);
  return failure as HalError;
}

/** Deterministic pseudo-random bytes (xorshift), different per seed. */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** Odd chunk sizes: below, at and above typical alignment and block sizes. */
export const ODD_CHUNKS = [1, 7, 13, 100, 4095, 8, 4097, 3, 1000, 4096, 5];

/**
 * Writes `image` from `start` in chunks cycling through `sizes`, syncing after every
 * `syncEvery` chunks. Returns the number of chunks written.
 */
export async function writeInChunks(
  writer: SlotWriter,
  image: Uint8Array,
  options: { start?: number; sizes?: number[]; syncEvery?: number } = {},
): Promise<number> {
  const sizes = options.sizes ?? ODD_CHUNKS;
  let offset = options.start ?? 0;
  let chunk = 0;
  while (offset < image.length) {
    const size = Math.min(sizes[chunk % sizes.length] as number, image.length - offset);
    await writer.write(offset, image.subarray(offset, offset + size));
    offset += size;
    chunk++;
    if (options.syncEvery && chunk % options.syncEvery === 0) await writer.sync();
  }
  return chunk;
}

export function text(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}
