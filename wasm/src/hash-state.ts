/**
 * The persisted hash state: one format for both engines, so a download hashed by WASM can resume
 * on a JS-only runtime (and back). The first 112 bytes are exactly the WASM module's context
 * (wasm/assembly/hash.ts); a CRC-32 is appended because the state sits in a key-value store on
 * flash, and a torn or bit-flipped state must be refused rather than silently give a wrong digest.
 *
 *   0  u8    format version (1)
 *   1  u8    algorithm (1 = SHA-256, 2 = MD5)
 *   2  6 B   reserved, zero
 *   8  u64   total bytes absorbed, little-endian (< 2^53)
 *  16  8×u32 chaining value, little-endian words (MD5 uses the first four, the rest are zero)
 *  48  64 B  pending input: the first (total % 64) bytes, the rest zero
 * 112  u32   CRC-32 (IEEE) of bytes 0..111, little-endian
 */
import { crc32 } from '../../agent/util/crc32.ts';
import { HashError } from './errors.ts';
import type { HashAlgorithm } from './types.ts';

export const CORE_SIZE = 112;
export const STATE_SIZE = CORE_SIZE + 4;
export const FORMAT_VERSION = 1;
export const CHAIN_OFFSET = 16;
export const BUFFER_OFFSET = 48;
export const BLOCK_SIZE = 64;

export const ALGORITHM_ID: Readonly<Record<HashAlgorithm, number>> = { sha256: 1, md5: 2 };
export const DIGEST_SIZE: Readonly<Record<HashAlgorithm, number>> = { sha256: 32, md5: 16 };
const CHAIN_WORDS: Readonly<Record<HashAlgorithm, number>> = { sha256: 8, md5: 4 };

const TWO_32 = 0x1_0000_0000;

export function checkAlgorithm(algorithm: unknown): HashAlgorithm {
  if (algorithm !== 'sha256' && algorithm !== 'md5') throw new HashError('invalidInput', `unknown hash algorithm: ${String(algorithm)}`);
  return algorithm;
}

export function checkChunk(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) throw new HashError('invalidInput', 'hash input must be a Uint8Array');
  return chunk;
}

export function readTotal(core: Uint8Array): number {
  const view = new DataView(core.buffer, core.byteOffset, CORE_SIZE);
  return view.getUint32(8, true) + view.getUint32(12, true) * TWO_32;
}

/** A fresh core for an engine that keeps its own state (the JS engine). */
export function writeCore(algorithm: HashAlgorithm, total: number, chain: readonly number[], pending: Uint8Array): Uint8Array {
  const core = new Uint8Array(CORE_SIZE);
  const view = new DataView(core.buffer);
  core[0] = FORMAT_VERSION;
  core[1] = ALGORITHM_ID[algorithm];
  view.setUint32(8, total >>> 0, true);
  view.setUint32(12, Math.floor(total / TWO_32), true);
  for (let i = 0; i < CHAIN_WORDS[algorithm]; i++) view.setUint32(CHAIN_OFFSET + i * 4, (chain[i] as number) >>> 0, true);
  core.set(pending.subarray(0, total % BLOCK_SIZE), BUFFER_OFFSET);
  return core;
}

export function readChain(core: Uint8Array, algorithm: HashAlgorithm): number[] {
  const view = new DataView(core.buffer, core.byteOffset, CORE_SIZE);
  const words: number[] = [];
  for (let i = 0; i < CHAIN_WORDS[algorithm]; i++) words.push(view.getUint32(CHAIN_OFFSET + i * 4, true));
  return words;
}

/** Core (112 bytes, e.g. a copy of the WASM context) → exported state with canonical padding + CRC. */
export function sealState(core: Uint8Array): Uint8Array {
  const out = new Uint8Array(STATE_SIZE);
  out.set(core.subarray(0, CORE_SIZE));
  // Bytes past the pending input are leftovers of earlier blocks in the WASM context; zero them so
  // both engines export identical bytes for identical input.
  out.fill(0, BUFFER_OFFSET + (readTotal(out) % BLOCK_SIZE), CORE_SIZE);
  new DataView(out.buffer).setUint32(CORE_SIZE, crc32(out.subarray(0, CORE_SIZE)), true);
  return out;
}

/** Validates an exported state for `algorithm` and returns its 112-byte core (a copy). */
export function openState(state: unknown, algorithm: HashAlgorithm): Uint8Array {
  if (!(state instanceof Uint8Array)) throw new HashError('invalidState', 'hash state must be a Uint8Array');
  if (state.length !== STATE_SIZE) throw new HashError('invalidState', `hash state must be ${STATE_SIZE} bytes, got ${state.length}`);
  const core = state.slice(0, CORE_SIZE);
  const view = new DataView(state.buffer, state.byteOffset, STATE_SIZE);
  if (view.getUint32(CORE_SIZE, true) !== crc32(core)) throw new HashError('invalidState', 'hash state checksum mismatch (corrupt state)');
  if (core[0] !== FORMAT_VERSION) throw new HashError('invalidState', `unsupported hash state version ${core[0]}`);
  if (core[1] !== ALGORITHM_ID[algorithm]) throw new HashError('invalidState', `hash state is not a ${algorithm} state`);
  for (let i = 2; i < 8; i++) if (core[i] !== 0) throw new HashError('invalidState', 'hash state reserved bytes are not zero');
  if (view.getUint32(12, true) >= 0x20_0000) throw new HashError('invalidState', 'hash state length out of range');
  return core;
}
