/**
 * The Node HAL's native signature verifier: `node:crypto` (OpenSSL) verifies the Ed25519 and
 * ECDSA P-256 signatures of TUF metadata, so a Node board never loads the agent's JS verifier
 * (the curve arithmetic of @noble/curves, ~40 KB of the bundle).
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { TrustCrypto } from '../../agent/trust/verify.ts';
import { InvalidOptionsError } from '../errors.ts';
import type { SignatureHost, SignatureScheme } from '../types.ts';

const SCHEMES: readonly SignatureScheme[] = Object.freeze(['ed25519', 'ecdsa-p256-sha256'] as const);

const b64url = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** The key as OpenSSL takes it (JWK: no DER prefixes to keep in step with the agent's). */
function publicKey(scheme: SignatureScheme, raw: Uint8Array): KeyObject | undefined {
  if (scheme === 'ed25519') return raw.length === 32 ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' }) : undefined;
  if (raw.length !== 65 || raw[0] !== 0x04) return undefined;
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) }, format: 'jwk' });
}

export function createNodeSignatureHost(): SignatureHost {
  return {
    name: `node:crypto (OpenSSL ${process.versions.openssl})`,
    schemes: SCHEMES,
    verify(scheme, raw, message, signature) {
      if (!SCHEMES.includes(scheme)) throw new InvalidOptionsError(`signatures: scheme ${String(scheme)} is not offered (${SCHEMES.join(', ')})`);
      if (scheme === 'ed25519' && signature.length !== 64) return false;
      try {
        const key = publicKey(scheme, raw);
        // Ed25519 hashes inside the scheme (no digest name); ECDSA signs SHA-256(message), DER-encoded.
        return key !== undefined && verify(scheme === 'ed25519' ? null : 'sha256', message, key, signature);
      } catch {
        return false; // a key OpenSSL refuses (not on the curve) or a signature it cannot parse
      }
    },
  };
}

/** What the Node tools (`dm-agent trust`, the demo) check TUF metadata with: node:crypto for both. */
export function nodeTrustCrypto(): TrustCrypto {
  const host = createNodeSignatureHost();
  return { verify: (...args) => host.verify(...args), sha256: (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest()) };
}
