/**
 * HMAC (RFC 2104) over any engine's streaming hash: one construction for both engines and both
 * algorithms (HMAC-SHA-256 for signatures, HMAC-MD5 for OMA DM). Both hashes use 64-byte blocks.
 */
import { checkChunk } from './hash-state.ts';
import type { HashAlgorithm, StreamingHash } from './types.ts';

const BLOCK = 64;

export function hmacWith(
  createHash: (algorithm: HashAlgorithm) => StreamingHash,
  algorithm: HashAlgorithm,
  key: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  checkChunk(key);
  checkChunk(data);
  let k = key;
  if (k.length > BLOCK) {
    const h = createHash(algorithm);
    h.update(k);
    k = h.digest();
  }
  const pad = new Uint8Array(BLOCK);
  pad.set(k);
  for (let i = 0; i < BLOCK; i++) pad[i] = (pad[i] as number) ^ 0x36;
  const inner = createHash(algorithm);
  inner.update(pad);
  inner.update(data);
  const innerDigest = inner.digest();
  // 0x36 ^ 0x5c turns the inner pad into the outer pad in place.
  for (let i = 0; i < BLOCK; i++) pad[i] = (pad[i] as number) ^ (0x36 ^ 0x5c);
  const outer = createHash(algorithm);
  outer.update(pad);
  outer.update(innerDigest);
  return outer.digest();
}
