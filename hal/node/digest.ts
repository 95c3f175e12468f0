/**
 * The Node HAL's native digest engine: `node:crypto` (OpenSSL, which uses SHA-NI / ARMv8 crypto
 * instructions where the CPU has them: ~2.4× our WASM SHA-256 on this project's build machine).
 */
import { createHash, getHashes } from 'node:crypto';
import { InvalidOptionsError } from '../errors.ts';
import type { DigestHost, NativeHash } from '../types.ts';

const OFFERED = ['sha256', 'md5'];

export function createNodeDigestHost(): DigestHost {
  const present = new Set(getHashes());
  const algorithms = Object.freeze(OFFERED.filter((name) => present.has(name)));
  return {
    name: `node:crypto (OpenSSL ${process.versions.openssl})`,
    algorithms,
    createHash(algorithm: string): NativeHash {
      if (!algorithms.includes(algorithm)) throw new InvalidOptionsError(`digest: algorithm ${String(algorithm)} is not offered (${algorithms.join(', ')})`);
      const hash = createHash(algorithm);
      return {
        update: (bytes) => {
          hash.update(bytes);
        },
        digest: () => new Uint8Array(hash.digest()),
      };
    },
  };
}
