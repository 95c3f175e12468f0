/**
 * Signing (release tooling, the reference server, tests): never part of a board's bundle. Key ids
 * are the conventional ones (securesystemslib: SHA-256 of the key's canonical JSON).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64, toHex } from '../util/bytes.ts';
import { canonicalBytes } from './canonical-json.ts';
import { TrustError } from './errors.ts';
import { type KeyJson, type KeyKind, P256_SPKI_PREFIX } from './keys.ts';

/** The conventional key id (securesystemslib): SHA-256 of the key's canonical JSON. */
export function keyIdOf(json: KeyJson): string {
  return toHex(sha256(canonicalBytes(json)));
}

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
