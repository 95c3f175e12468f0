/**
 * Public types of the hot-path engines (re-exported by wasm/index.ts). Types only, so any module
 * may import them without pulling code into a QuickJS bundle.
 */
import type { WasmHost } from '../../hal/types.ts';
import type { SyncmlTokenizeOptions, SyncmlTokens } from './syncml-tokens.ts';

export type EngineKind = 'wasm' | 'js';
export type HashAlgorithm = 'sha256' | 'md5';

export interface PackageEntry {
  name: string;
  version: string;
  digest?: string;
  /** Carried through untouched; the optional-package policy lives in agent/delivery/plan.ts. */
  optional?: boolean;
}

/**
 * Every list is sorted by name in UTF-8 byte order (= code point order, agent/util/bytes.ts
 * compareUtf8). Entries are the caller's own objects (identity preserved), so callers may pass
 * subtypes and cast back.
 */
export interface DiffPlan {
  /** Desired entries that are not installed. */
  install: PackageEntry[];
  /** Same name, but the version differs, or the digest differs when both sides give one. */
  upgrade: { from: PackageEntry; to: PackageEntry }[];
  /** Installed entries that are not desired. */
  remove: PackageEntry[];
  keep: { installed: PackageEntry; desired: PackageEntry }[];
}

export interface StreamingHash {
  readonly algorithm: HashAlgorithm;
  /** Bytes absorbed so far (including those absorbed before an exported state was resumed). */
  readonly bytesHashed: number;
  update(chunk: Uint8Array): void;
  /** Finishes the hash; afterwards every call throws HashError `finished`. */
  digest(): Uint8Array;
  /**
   * Snapshot to persist and resume from with `createHash(algorithm, state)`. 116 bytes, the same
   * format for both engines (see wasm/src/hash-state.ts), so a state exported by WASM resumes on a
   * JS-only runtime and vice versa.
   */
  exportState(): Uint8Array;
}

export interface Engines {
  readonly kind: EngineKind;
  createHash(algorithm: HashAlgorithm, state?: Uint8Array): StreamingHash;
  hash(algorithm: HashAlgorithm, data: Uint8Array): Uint8Array;
  hmac(algorithm: HashAlgorithm, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** Throws DiffInputError for duplicate names within a side or malformed entries. */
  diff(installed: readonly PackageEntry[], desired: readonly PackageEntry[]): DiffPlan;
  /**
   * Tokenizes one SyncML message, XML or WBXML (wasm/src/syncml-tokens.ts). Throws SyncmlError
   * (code + byte offset) for bad input, EngineError 'invalidOptions' for bad options.
   */
  syncmlTokenize(bytes: Uint8Array, options?: SyncmlTokenizeOptions): SyncmlTokens;
}

export interface LoadEnginesOptions {
  /** WebAssembly as the HAL offers it; absent on QuickJS. */
  wasm?: WasmHost;
  /** 'auto' (default): WASM when a host is given and the modules instantiate, else JS. */
  engine?: EngineKind | 'auto';
}
