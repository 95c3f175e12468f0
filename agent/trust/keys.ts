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
 * A key id is not recomputed from the key: TUF leaves its derivation to the repository (tuf-js's
 * mock hashes JSON.stringify output), and python-tuf does not check it either. What matters is
 * that a signature only counts for a key id the role lists, once.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, fromHex, toHex, toBase64, equalBytes } from '../util/bytes.ts';
import { canonicalBytes } from './canonical-json.ts';
import { TrustError } from './errors.ts';

export type KeyKind = 'ed25519' | 'ecdsa-p256';

export interface PublicKey {
  kind: KeyKind;
  /** Raw key: 32 bytes (Ed25519) or the 65-byte uncompressed point (P-256). */
  raw: Uint8Array;
  /** The key as metadata lists it (`keytype`, `scheme`, `keyval`), to re-serialize unchanged. */
  json: KeyJson;
}

export interface KeyJson {
  keytype: string;
  scheme: string;
  keyval: { public: string };
}

/** DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, uncompressed point). */
const P256_SPKI_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');

export function parseKey(value: unknown, where: string): PublicKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TrustError('malformed', `${where}: a key is an object`);
  const { keytype, scheme, keyval } = value as Record<string, unknown>;
  const pub = typeof keyval === 'object' && keyval !== null ? (keyval as Record<string, unknown>).public : undefined;
  if (typeof keytype !== 'string' || typeof scheme !== 'string' || typeof pub !== 'string') throw new TrustError('malformed', `${where}: keytype, scheme and keyval.public are strings`);
  const json: KeyJson = { keytype, scheme, keyval: { public: pub } };
  if (keytype === 'ed25519' && scheme === 'ed25519') {
    if (!/^[0-9a-f]{64}$/.test(pub)) throw new TrustError('malformed', `${where}: an ed25519 key is 64 hex digits`);
    return { kind: 'ed25519', raw: fromHex(pub), json };
  }
  if ((keytype === 'ecdsa' || keytype === 'ecdsa-sha2-nistp256') && scheme === 'ecdsa-sha2-nistp256') {
    const der = pub.startsWith('-----BEGIN PUBLIC KEY-----') ? pemBody(pub, where) : /^[0-9a-f]+$/.test(pub) ? fromHex(pub) : undefined;
    if (!der || der.length !== P256_SPKI_PREFIX.length + 65 || !equalBytes(der.subarray(0, P256_SPKI_PREFIX.length), P256_SPKI_PREFIX))
      throw new TrustError('malformed', `${where}: not a P-256 public key`);
    const raw = der.slice(P256_SPKI_PREFIX.length);
    try {
      p256.Point.fromBytes(raw).assertValidity();
    } catch {
      throw new TrustError('malformed', `${where}: not a point on P-256`);
    }
    return { kind: 'ecdsa-p256', raw, json };
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

/** True when `signatureHex` is a valid signature of `message` by `key`; false for any malformed signature. */
export function verifySignature(key: PublicKey, message: Uint8Array, signatureHex: string): boolean {
  if (typeof signatureHex !== 'string' || signatureHex.length > 512 || !/^([0-9a-f]{2})+$/.test(signatureHex)) return false;
  const signature = fromHex(signatureHex);
  try {
    if (key.kind === 'ed25519') return signature.length === 64 && ed25519.verify(signature, message, key.raw);
    return p256.verify(signature, message, key.raw, { format: 'der', prehash: true, lowS: false });
  } catch {
    return false;
  }
}

/** The conventional key id (securesystemslib): SHA-256 of the key's canonical JSON. */
export function keyIdOf(json: KeyJson): string {
  return toHex(sha256(canonicalBytes(json)));
}

// ───────────────────────────── signing (release tooling, tests) ─────────────────────────────

export interface SigningKey {
  kind: KeyKind;
  /** 32-byte secret scalar / seed. Never logged. */
  secret: Uint8Array;
  public: KeyJson;
  keyid: string;
}

/** A signing key from its 32 secret bytes (a CSPRNG's output, or a stored key). */
export function signingKeyFrom(kind: KeyKind, secret: Uint8Array): SigningKey {
  if (secret.length !== 32) throw new TrustError('malformed', 'a secret key is 32 bytes');
  let json: KeyJson;
  if (kind === 'ed25519') json = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(ed25519.getPublicKey(secret)) } };
  else {
    if (!p256.utils.isValidSecretKey(secret)) throw new TrustError('malformed', 'not a P-256 secret key');
    const spki = new Uint8Array(P256_SPKI_PREFIX.length + 65);
    spki.set(P256_SPKI_PREFIX);
    spki.set(p256.getPublicKey(secret, false), P256_SPKI_PREFIX.length);
    const b64 = toBase64(spki).replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
    json = { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n` } };
  }
  return { kind, secret, public: json, keyid: keyIdOf(json) };
}

/** Deterministic signature (Ed25519; ECDSA with RFC 6979 nonces), hex as TUF carries it. */
export function sign(key: SigningKey, message: Uint8Array): string {
  if (key.kind === 'ed25519') return toHex(ed25519.sign(message, key.secret));
  return toHex(p256.sign(message, key.secret, { format: 'der', prehash: true }));
}
