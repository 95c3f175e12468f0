/**
 * Public keys as TUF metadata names them, and signature checks. Two kinds, both small enough for
 * the JS engine of a board:
 *
 *  - `ed25519` (scheme `ed25519`): `keyval.public` is the raw 32-byte key in hex.
 *  - `ecdsa` / `ecdsa-sha2-nistp256` (scheme `ecdsa-sha2-nistp256`): `keyval.public` is a PEM
 *    SubjectPublicKeyInfo (what securesystemslib, python-tuf and tuf-js write) or its DER in hex;
 *    signatures are DER in hex over SHA-256 of the message; high-S signatures are accepted, as
 *    OpenSSL makes them.
 *
 * Parsing needs no curve arithmetic beyond the P-256 curve equation (below); the signature checks
 * are the verifier's (./verify.ts: the HAL's native one, or the JS chunk).
 *
 * A key id is not recomputed from the key: TUF leaves its derivation to the repository (tuf-js's
 * mock hashes JSON.stringify output), and python-tuf does not check it either. What matters is
 * that a signature only counts for a key id the role lists, once.
 */
import type { SignatureScheme } from '../../hal/types.ts';
import { equalBytes, fromBase64, fromHex, toHex } from '../util/bytes.ts';
import { TrustError } from './errors.ts';
import type { SignatureVerifier } from './verify.ts';

export type KeyKind = 'ed25519' | 'ecdsa-p256';

export interface PublicKey {
  kind: KeyKind;
  /** Raw key: 32 bytes (Ed25519) or the 65-byte uncompressed point (P-256). */
  raw: Uint8Array;
}

export interface KeyJson {
  keytype: string;
  scheme: string;
  keyval: { public: string };
}

/** DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, uncompressed point). */
export const P256_SPKI_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');

export function parseKey(value: unknown, where: string): PublicKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TrustError('malformed', `${where}: a key is an object`);
  const { keytype, scheme, keyval } = value as Record<string, unknown>;
  const pub = typeof keyval === 'object' && keyval !== null ? (keyval as Record<string, unknown>).public : undefined;
  if (typeof keytype !== 'string' || typeof scheme !== 'string' || typeof pub !== 'string') throw new TrustError('malformed', `${where}: keytype, scheme and keyval.public are strings`);
  if (keytype === 'ed25519' && scheme === 'ed25519') {
    if (!/^[0-9a-f]{64}$/.test(pub)) throw new TrustError('malformed', `${where}: an ed25519 key is 64 hex digits`);
    const raw = fromHex(pub);
    if (!usableEd25519(raw)) throw new TrustError('malformed', `${where}: not a usable Ed25519 key (non-canonical or of small order)`);
    return { kind: 'ed25519', raw };
  }
  if ((keytype === 'ecdsa' || keytype === 'ecdsa-sha2-nistp256') && scheme === 'ecdsa-sha2-nistp256') {
    const der = pub.startsWith('-----BEGIN PUBLIC KEY-----') ? pemBody(pub, where) : /^[0-9a-f]+$/.test(pub) ? fromHex(pub) : undefined;
    if (!der || der.length !== P256_SPKI_PREFIX.length + 65 || !equalBytes(der.subarray(0, P256_SPKI_PREFIX.length), P256_SPKI_PREFIX))
      throw new TrustError('malformed', `${where}: not a P-256 public key`);
    const raw = der.slice(P256_SPKI_PREFIX.length);
    if (!onP256(raw)) throw new TrustError('malformed', `${where}: not a point on P-256`);
    return { kind: 'ecdsa-p256', raw };
  }
  throw new TrustError('malformed', `${where}: unsupported key type ${JSON.stringify(keytype.slice(0, 40))} / scheme ${JSON.stringify(scheme.slice(0, 40))}`);
}

function pemBody(pem: string, where: string): Uint8Array {
  const match = /^-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*$/.exec(pem);
  if (!match) throw new TrustError('malformed', `${where}: malformed PEM`);
  try {
    return fromBase64((match[1] as string).replace(/\s+/g, ''));
  } catch {
    throw new TrustError('malformed', `${where}: malformed PEM`);
  }
}

/** The scheme a key's signatures are checked with (SignatureHost's names). */
export const schemeOf = (key: PublicKey): SignatureScheme => (key.kind === 'ed25519' ? 'ed25519' : 'ecdsa-p256-sha256');

/** True when `signatureHex` is a valid signature of `message` by `key`; false for any malformed signature. */
export function verifySignature(verify: SignatureVerifier, key: PublicKey, message: Uint8Array, signatureHex: string): boolean {
  if (typeof signatureHex !== 'string' || signatureHex.length > 512 || !/^([0-9a-f]{2})+$/.test(signatureHex)) return false;
  const signature = fromHex(signatureHex);
  if (key.kind === 'ed25519' && signature.length !== 64) return false;
  return verify(schemeOf(key), key.raw, message, signature);
}

// P-256 (SEC 2 / FIPS 186): y² = x³ − 3x + b over GF(p). The cofactor is 1, so a point of the
// curve (an uncompressed one cannot be the point at infinity) is a valid public key.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/** An uncompressed point (0x04 ‖ x ‖ y) on P-256 with both coordinates below p. */
function onP256(raw: Uint8Array): boolean {
  if (raw.length !== 65 || raw[0] !== 0x04) return false;
  const x = BigInt(`0x${toHex(raw.subarray(1, 33))}`);
  const y = BigInt(`0x${toHex(raw.subarray(33))}`);
  if (x >= P || y >= P) return false;
  return (y * y - (x * x * x - 3n * x + B)) % P === 0n;
}

// Ed25519 keys the RFC 8032 way, so that the native and the JS verifier agree on every key that
// parses: OpenSSL verifies (S = 0) signatures for a small-order or non-canonically encoded key,
// @noble/curves (zip215: false) does not. The y coordinates of the eight small-order points
// (libsodium's list; the sign bit masked): 0, 1, the two of order 8, and p − 1.
const SMALL_ORDER_Y = new Set([
  '0'.repeat(64),
  `01${'0'.repeat(62)}`,
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  `ec${'f'.repeat(60)}7f`,
]);

/** A 32-byte key whose y is below p = 2²⁵⁵ − 19 and which is not a small-order point. */
function usableEd25519(raw: Uint8Array): boolean {
  const y = raw.slice();
  y[31] = (y[31] as number) & 0x7f;
  // y ≥ p only when bytes 1…30 are 0xff, byte 31 is 0x7f and byte 0 is at least 0xed.
  if (y[31] === 0x7f && (y[0] as number) >= 0xed && toHex(y.subarray(1, 31)) === 'ff'.repeat(30)) return false;
  return !SMALL_ORDER_Y.has(toHex(y));
}
