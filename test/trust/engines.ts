/**
 * The two signature engines the agent checks TUF metadata with: the Node HAL's native verifier
 * (node:crypto, with node's SHA-256) and the JS chunk (@noble/curves, with the JS engines'
 * SHA-256) that QuickJS and boards without an accelerator load. Suites run once per engine.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { jsVerify } from '../../agent/trust/verify-js.ts';
import type { TrustCrypto } from '../../agent/trust/verify.ts';
import { nodeTrustCrypto } from '../../hal/node/signatures.ts';

export const jsTrustCrypto: TrustCrypto = { verify: jsVerify, sha256: (bytes) => sha256(bytes) };

export const TRUST_ENGINES: { name: string; crypto: TrustCrypto }[] = [
  { name: 'native', crypto: nodeTrustCrypto() },
  { name: 'js', crypto: jsTrustCrypto },
];
