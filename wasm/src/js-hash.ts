/**
 * Streaming hashes for the JS engine, on @noble/hashes (audited; not written again here).
 *
 * State export/import reaches into noble's Merkle–Damgård base class (`buffer`, `pos`, `length`,
 * `get()`/`set()`): protected in its typings but plain fields at runtime, stable across 2.x.
 * `internals()` checks the shape on every construction, and test/wasm/hash-state.test.ts pins the
 * round trip, so a noble release that moves them fails loudly instead of resuming wrongly.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HashError } from './errors.ts';
import { BLOCK_SIZE, BUFFER_OFFSET, CORE_SIZE, checkChunk, openState, readChain, readTotal, sealState, writeCore } from './hash-state.ts';
import type { HashAlgorithm, StreamingHash } from './types.ts';

interface NobleHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

interface NobleInternals extends NobleHash {
  buffer: Uint8Array;
  pos: number;
  length: number;
  get(): number[];
  set(...words: number[]): void;
}

function internals(hash: NobleHash): NobleInternals {
  const candidate = hash as Partial<NobleInternals>;
  if (
    !(candidate.buffer instanceof Uint8Array) ||
    candidate.buffer.length !== BLOCK_SIZE ||
    typeof candidate.pos !== 'number' ||
    typeof candidate.length !== 'number' ||
    typeof candidate.get !== 'function' ||
    typeof candidate.set !== 'function'
  ) {
    throw new HashError('invalidState', '@noble/hashes internals changed: cannot export or import hash state');
  }
  return candidate as NobleInternals;
}

function createNoble(algorithm: HashAlgorithm): NobleInternals {
  return internals(algorithm === 'sha256' ? sha256.create() : md5.create());
}

class JsStreamingHash implements StreamingHash {
  readonly algorithm: HashAlgorithm;
  #hash: NobleInternals;
  #finished = false;

  constructor(algorithm: HashAlgorithm, state?: Uint8Array) {
    this.algorithm = algorithm;
    this.#hash = createNoble(algorithm);
    if (state !== undefined) {
      const core = openState(state, algorithm);
      const total = readTotal(core);
      this.#hash.set(...readChain(core, algorithm));
      this.#hash.length = total;
      this.#hash.pos = total % BLOCK_SIZE;
      this.#hash.buffer.set(core.subarray(BUFFER_OFFSET, CORE_SIZE));
    }
  }

  get bytesHashed(): number {
    return this.#hash.length;
  }

  update(chunk: Uint8Array): void {
    if (this.#finished) throw new HashError('finished', 'update() after digest()');
    this.#hash.update(checkChunk(chunk));
  }

  digest(): Uint8Array {
    if (this.#finished) throw new HashError('finished', 'digest() called twice');
    this.#finished = true;
    return this.#hash.digest();
  }

  exportState(): Uint8Array {
    if (this.#finished) throw new HashError('finished', 'exportState() after digest()');
    const h = this.#hash;
    return sealState(writeCore(this.algorithm, h.length, h.get(), h.buffer.subarray(0, h.pos)));
  }
}

export function createJsHash(algorithm: HashAlgorithm, state?: Uint8Array): StreamingHash {
  return new JsStreamingHash(algorithm, state);
}

export function jsHashOnce(algorithm: HashAlgorithm, data: Uint8Array): Uint8Array {
  checkChunk(data);
  return algorithm === 'sha256' ? sha256(data) : md5(data);
}
