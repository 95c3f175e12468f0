/**
 * Streaming hashes on the WASM hash module (wasm/assembly/hash.ts).
 *
 * The module has exactly one hashing context. Each JS hasher owns a saved copy of its 112-byte
 * context while another hasher is active, and the module swaps contexts only when hashers
 * interleave (two copies of 112 bytes), so the common case — one download hashed chunk after
 * chunk — copies nothing but the input. Chunks are copied into the module's 64 KiB input window
 * and absorbed in place; nothing is allocated per chunk on either side.
 */
import { HashError } from './errors.ts';
import { ALGORITHM_ID, CORE_SIZE, DIGEST_SIZE, checkChunk, openState, readTotal, sealState } from './hash-state.ts';
import type { HashAlgorithm, StreamingHash } from './types.ts';

export interface HashExports {
  memory: { buffer: ArrayBuffer };
  contextPtr(): number;
  digestPtr(): number;
  inputPtr(): number;
  inputCapacity(): number;
  stateSize(): number;
  init(algorithm: number): void;
  update(length: number): void;
  final(): void;
}

const FUNCTIONS = ['contextPtr', 'digestPtr', 'inputPtr', 'inputCapacity', 'stateSize', 'init', 'update', 'final'] as const;

export function asHashExports(exports: Record<string, unknown>): HashExports {
  const memory = exports['memory'] as { buffer?: unknown } | undefined;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw new TypeError('hash module exports no memory');
  for (const name of FUNCTIONS) if (typeof exports[name] !== 'function') throw new TypeError(`hash module lacks ${name}()`);
  const typed = exports as unknown as HashExports;
  if (typed.stateSize() !== CORE_SIZE) throw new TypeError(`hash module context is ${typed.stateSize()} bytes, expected ${CORE_SIZE}`);
  return typed;
}

export class WasmHashModule {
  readonly #x: HashExports;
  readonly #context: number;
  readonly #input: number;
  readonly #capacity: number;
  #owner: WasmStreamingHash | null = null;

  constructor(exports: HashExports) {
    this.#x = exports;
    this.#context = exports.contextPtr();
    this.#input = exports.inputPtr();
    this.#capacity = exports.inputCapacity();
  }

  create(algorithm: HashAlgorithm, state?: Uint8Array): StreamingHash {
    const core = state === undefined ? undefined : openState(state, algorithm);
    return new WasmStreamingHash(this, algorithm, core);
  }

  hashOnce(algorithm: HashAlgorithm, data: Uint8Array): Uint8Array {
    const hash = this.create(algorithm);
    hash.update(data);
    return hash.digest();
  }

  /** Makes `hasher` the context's owner, parking the previous owner's context in its `saved`. */
  activate(hasher: WasmStreamingHash): void {
    if (this.#owner === hasher) return;
    const previous = this.#owner;
    if (previous) previous.saved = this.#contextBytes().slice();
    if (hasher.saved) {
      this.#contextBytes().set(hasher.saved);
      hasher.saved = null;
    } else {
      this.#x.init(ALGORITHM_ID[hasher.algorithm]);
    }
    this.#owner = hasher;
  }

  release(hasher: WasmStreamingHash): void {
    if (this.#owner === hasher) this.#owner = null;
  }

  isActive(hasher: WasmStreamingHash): boolean {
    return this.#owner === hasher;
  }

  absorb(chunk: Uint8Array): void {
    const window = new Uint8Array(this.#x.memory.buffer, this.#input, this.#capacity);
    for (let offset = 0; offset < chunk.length; offset += this.#capacity) {
      const length = Math.min(this.#capacity, chunk.length - offset);
      window.set(length === chunk.length ? chunk : chunk.subarray(offset, offset + length));
      this.#x.update(length);
    }
  }

  finish(size: number): Uint8Array {
    this.#x.final();
    return new Uint8Array(this.#x.memory.buffer, this.#x.digestPtr(), size).slice();
  }

  contextCopy(): Uint8Array {
    return this.#contextBytes().slice();
  }

  #contextBytes(): Uint8Array {
    return new Uint8Array(this.#x.memory.buffer, this.#context, CORE_SIZE);
  }
}

class WasmStreamingHash implements StreamingHash {
  readonly algorithm: HashAlgorithm;
  /** This hasher's context while it is not the module's active one (null while active). */
  saved: Uint8Array | null;
  readonly #module: WasmHashModule;
  #finished = false;

  constructor(module: WasmHashModule, algorithm: HashAlgorithm, core: Uint8Array | undefined) {
    this.#module = module;
    this.algorithm = algorithm;
    this.saved = core ?? null;
    // Take the context right away so a fresh hasher is initialised (and `saved` stays meaningful).
    module.activate(this);
  }

  get bytesHashed(): number {
    return readTotal(this.#core());
  }

  update(chunk: Uint8Array): void {
    if (this.#finished) throw new HashError('finished', 'update() after digest()');
    checkChunk(chunk);
    if (chunk.length === 0) return;
    this.#module.activate(this);
    this.#module.absorb(chunk);
  }

  digest(): Uint8Array {
    if (this.#finished) throw new HashError('finished', 'digest() called twice');
    this.#module.activate(this);
    this.#finished = true;
    const out = this.#module.finish(DIGEST_SIZE[this.algorithm]);
    this.saved = this.#module.contextCopy(); // keeps bytesHashed readable
    this.#module.release(this);
    return out;
  }

  exportState(): Uint8Array {
    if (this.#finished) throw new HashError('finished', 'exportState() after digest()');
    return sealState(this.#core());
  }

  #core(): Uint8Array {
    return this.#module.isActive(this) ? this.#module.contextCopy() : (this.saved as Uint8Array);
  }
}
