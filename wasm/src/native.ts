/**
 * Engines that hash with the host's own digest engine (`device.digest`: node:crypto, a crypto
 * accelerator) and fall back to the WASM or JS engines for what it cannot do: resuming an
 * exported state, algorithms it lacks, and the diff. Delta apply keeps the base engine's decoder
 * but hashes its output natively when the host offers SHA-256. Same digests as the other engines (tested).
 */
import type { DigestHost, NativeHash } from '../../hal/types.ts';
import { withDeltaHash } from './delta-applier.ts';
import { HashError } from './errors.ts';
import { checkAlgorithm, checkChunk } from './hash-state.ts';
import type { Engines, HashAlgorithm, StreamingHash } from './types.ts';

export function withNativeHashing(base: Engines, native: DigestHost): Engines {
  const offers = (algorithm: HashAlgorithm) => native.algorithms.includes(algorithm);
  // Everything but hashing is the base engine's (diff, HMAC, tokenizing, …).
  const sha256 = offers('sha256') ? (): StreamingHash => new NativeStreamingHash('sha256', native.createHash('sha256')) : undefined;
  return {
    ...base,
    kind: 'native',
    applyDelta: sha256 ? withDeltaHash(base.applyDelta, sha256) : base.applyDelta,
    createHash(algorithm, state) {
      checkAlgorithm(algorithm);
      // A native hash cannot take a persisted state: resuming is the portable engines' job.
      if (state !== undefined || !offers(algorithm)) return base.createHash(algorithm, state);
      return new NativeStreamingHash(algorithm, native.createHash(algorithm));
    },
    hash(algorithm, data) {
      checkAlgorithm(algorithm);
      if (!offers(algorithm)) return base.hash(algorithm, data);
      const hash = native.createHash(algorithm);
      hash.update(checkChunk(data));
      return hash.digest();
    },
  };
}

class NativeStreamingHash implements StreamingHash {
  readonly algorithm: HashAlgorithm;
  readonly exportable = false;
  #hash: NativeHash | undefined;
  #bytes = 0;

  constructor(algorithm: HashAlgorithm, hash: NativeHash) {
    this.algorithm = algorithm;
    this.#hash = hash;
  }

  get bytesHashed(): number {
    return this.#bytes;
  }

  update(chunk: Uint8Array): void {
    this.#live().update(checkChunk(chunk));
    this.#bytes += chunk.length;
  }

  digest(): Uint8Array {
    const out = this.#live().digest();
    this.#hash = undefined;
    return out;
  }

  exportState(): Uint8Array {
    this.#live();
    throw new HashError('cannotExport', `a native ${this.algorithm} hash cannot export its state`);
  }

  #live(): NativeHash {
    if (!this.#hash) throw new HashError('finished', 'hash already finished');
    return this.#hash;
  }
}
