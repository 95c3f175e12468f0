/**
 * Who checks the signatures of TUF metadata, in the order of the hash engines (native → JS): the
 * HAL's `device.signatures` (node:crypto, a board's accelerator) for every scheme it offers, the
 * JS verifier (@noble/curves, ./verify-js.ts) for the rest. The JS verifier is imported only
 * when a scheme is missing, so it is a chunk of its own: a board that verifies natively neither
 * stores nor loads the curve arithmetic (~40 KB, the largest part of the bundle before).
 * Both answer the same (test/trust/verifiers.test.ts runs the vectors through each).
 */
import type { SignatureHost, SignatureScheme } from '../../hal/types.ts';

/** True when `signature` is a valid signature of `message` by `publicKey` (raw bytes); false for anything malformed. */
export type SignatureVerifier = (scheme: SignatureScheme, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** What the trust checks compute: signatures and SHA-256 (the engines' hash). */
export interface TrustCrypto {
  verify: SignatureVerifier;
  sha256(bytes: Uint8Array): Uint8Array;
}

export type VerifierKind = 'native' | 'js' | 'mixed';

const SCHEMES: readonly SignatureScheme[] = ['ed25519', 'ecdsa-p256-sha256'];

/** The verifier for every scheme: the host's where it offers one, else JS. `engine: 'js'` forces JS. */
export async function loadVerifier(host: SignatureHost | undefined, engine: 'auto' | 'wasm' | 'js' = 'auto'): Promise<{ kind: VerifierKind; verify: SignatureVerifier }> {
  const native = engine === 'js' || host === undefined ? [] : SCHEMES.filter((scheme) => host.schemes.includes(scheme));
  if (host !== undefined && native.length === SCHEMES.length) return { kind: 'native', verify: (...args) => host.verify(...args) };
  const { jsVerify } = await import('./verify-js.ts');
  if (host === undefined || native.length === 0) return { kind: 'js', verify: jsVerify };
  return { kind: 'mixed', verify: (scheme, ...rest) => (native.includes(scheme) ? host.verify(scheme, ...rest) : jsVerify(scheme, ...rest)) };
}
