/**
 * The JS signature verifier (@noble/curves, audited; not written again here), for hosts without a
 * native one: QuickJS, boards without a crypto accelerator. Loaded only through `import()` from
 * ./verify.ts, so it is a chunk of its own.
 *
 * Ed25519 is verified the RFC 8032 way (`zip215: false`: canonical encodings only, no small-order
 * key), as OpenSSL does, so both engines refuse the same edge cases. ECDSA accepts high-S
 * signatures, as OpenSSL makes and accepts them.
 */
import type { SignatureScheme } from '../../hal/types.ts';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';

export function jsVerify(scheme: SignatureScheme, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (scheme === 'ed25519') return signature.length === 64 && ed25519.verify(signature, message, publicKey, { zip215: false });
    return p256.verify(signature, message, publicKey, { format: 'der', prehash: true, lowS: false });
  } catch {
    return false;
  }
}
