/**
 * Typed errors of the engines. Callers branch on `instanceof` or `code`, never on message text.
 */

export type DiffSide = 'installed' | 'desired';

/** A diff input was rejected before anything was computed. */
export class DiffInputError extends Error {
  readonly code: 'duplicateName' | 'invalidEntry';
  readonly side: DiffSide;
  /** Index of the offending entry in the caller's array; -1 when the list itself is not an array. */
  readonly index: number;
  /** For `duplicateName`: the name that occurs twice. */
  readonly packageName: string | undefined;

  constructor(code: 'duplicateName' | 'invalidEntry', side: DiffSide, index: number, message: string, packageName?: string) {
    super(message);
    this.name = 'DiffInputError';
    this.code = code;
    this.side = side;
    this.index = index;
    this.packageName = packageName;
  }
}

export type HashErrorCode =
  | 'invalidState' // exportState bytes that are corrupt, from another format version or algorithm
  | 'finished' // a call after digest()
  | 'invalidInput' // not a Uint8Array, or an unknown algorithm
  | 'cannotExport'; // exportState() on a native hash (the host's engine keeps its state to itself)

export class HashError extends Error {
  readonly code: HashErrorCode;
  constructor(code: HashErrorCode, message: string) {
    super(message);
    this.name = 'HashError';
    this.code = code;
  }
}

export type EngineErrorCode =
  | 'wasmUnavailable' // engine 'wasm' forced without a WasmHost
  | 'wasmFailed' // the host could not provide or instantiate a module
  | 'nativeUnavailable' // engine 'native' forced without a DigestHost
  | 'invalidOptions';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}
