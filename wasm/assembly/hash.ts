/**
 * Streaming SHA-256 / MD5 module: one hashing context in linear memory, fed from a fixed input
 * window. The JS loader copies each chunk into the window and calls `update`; nothing is allocated
 * per chunk (built with the stub runtime, there is no allocator at all).
 *
 * The context is byte-for-byte the persisted state format (see wasm/src/hash-state.ts), so
 * exporting a state is a 112-byte copy and importing one is a copy back:
 *
 *   0  u8   format version (1)
 *   1  u8   algorithm (1 = SHA-256, 2 = MD5)
 *   2  6 B  reserved, zero
 *   8  u64  total bytes absorbed (little-endian)
 *  16  8×u32 chaining value, little-endian words (MD5 uses the first four)
 *  48  64 B block buffer; the first (total % 64) bytes are pending input
 *
 * Several JS hashers share this single context; the loader swaps states in and out when they
 * interleave, which is rare and costs two 112-byte copies.
 */
import { sha256BlocksSimd } from './sha256-simd';
import { sha256BlocksScalar } from './sha256-scalar';
import { md5Blocks } from './md5';

const VERSION: u8 = 1;
const SHA256: u8 = 1;
const MD5: u8 = 2;
const STATE_SIZE: i32 = 112;
const CHAIN: usize = 16;
const BUFFER: usize = 48;
// 64 KiB: large enough that call overhead vanishes, small enough to stay cache-resident.
const INPUT_SIZE: i32 = 65536;

const context: usize = memory.data(STATE_SIZE, 16);
const digestOut: usize = memory.data(32, 16);
const input: usize = memory.data(INPUT_SIZE, 16);

export function contextPtr(): usize { return context; }
export function digestPtr(): usize { return digestOut; }
export function inputPtr(): usize { return input; }
export function inputCapacity(): i32 { return INPUT_SIZE; }
export function stateSize(): i32 { return STATE_SIZE; }

// @ts-ignore: decorator
@inline function absorb(algorithm: u8, from: usize, blocks: u32): void {
  if (algorithm == SHA256) {
    // Compile-time choice: the `hash` target enables SIMD, `hash-scalar` does not.
    if (ASC_FEATURE_SIMD) sha256BlocksSimd(context + CHAIN, from, blocks);
    else sha256BlocksScalar(context + CHAIN, from, blocks);
  } else {
    md5Blocks(context + CHAIN, from, blocks);
  }
}

/** Resets the context to the initial value of `algorithm` (1 = SHA-256, 2 = MD5). */
export function init(algorithm: u8): void {
  memory.fill(context, 0, STATE_SIZE);
  store<u8>(context, VERSION, 0);
  store<u8>(context, algorithm, 1);
  const chain = context + CHAIN;
  if (algorithm == SHA256) {
    store<u32>(chain, 0x6a09e667, 0);
    store<u32>(chain, 0xbb67ae85, 4);
    store<u32>(chain, 0x3c6ef372, 8);
    store<u32>(chain, 0xa54ff53a, 12);
    store<u32>(chain, 0x510e527f, 16);
    store<u32>(chain, 0x9b05688c, 20);
    store<u32>(chain, 0x1f83d9ab, 24);
    store<u32>(chain, 0x5be0cd19, 28);
  } else {
    store<u32>(chain, 0x67452301, 0);
    store<u32>(chain, 0xefcdab89, 4);
    store<u32>(chain, 0x98badcfe, 8);
    store<u32>(chain, 0x10325476, 12);
  }
}

/** Absorbs the first `length` bytes of the input window (length ≤ inputCapacity()). */
export function update(length: u32): void {
  const algorithm = load<u8>(context, 1);
  const total = load<u64>(context, 8);
  store<u64>(context, total + <u64>length, 8);
  let pos = <u32>(total & 63);
  let from = input;
  let rest = length;
  if (pos != 0) {
    // Top up the pending partial block first.
    const take = min<u32>(64 - pos, rest);
    memory.copy(context + BUFFER + pos, from, take);
    pos += take;
    from += take;
    rest -= take;
    if (pos < 64) return;
    absorb(algorithm, context + BUFFER, 1);
  }
  // Whole blocks straight from the window, no copy.
  const blocks = rest >>> 6;
  if (blocks != 0) absorb(algorithm, from, blocks);
  from += <usize>(blocks << 6);
  rest &= 63;
  if (rest != 0) memory.copy(context + BUFFER, from, rest);
}

/** Pads, absorbs the last block(s) and writes the digest (32 or 16 bytes) to digestPtr(). */
export function final(): void {
  const algorithm = load<u8>(context, 1);
  const total = load<u64>(context, 8);
  const block = context + BUFFER;
  let pos = <usize>(total & 63);
  store<u8>(block + pos, 0x80);
  pos++;
  memory.fill(block + pos, 0, 64 - <i32>pos);
  if (pos > 56) {
    absorb(algorithm, block, 1);
    memory.fill(block, 0, 56);
  }
  const bits = total << 3;
  // SHA-256 ends with the bit length big-endian, MD5 little-endian.
  store<u64>(block, algorithm == SHA256 ? bswap<u64>(bits) : bits, 56);
  absorb(algorithm, block, 1);
  const chain = context + CHAIN;
  if (algorithm == SHA256) {
    for (let i: usize = 0; i < 32; i += 4) store<u32>(digestOut + i, bswap<u32>(load<u32>(chain + i)));
  } else {
    memory.copy(digestOut, chain, 16);
  }
}
