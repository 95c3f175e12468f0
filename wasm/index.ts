/**
 * Hot-path engines: SHA-256 / MD5 (streaming, resumable), HMAC, the package-list diff and the
 * SyncML tokenizer (XML and WBXML → the token stream of src/syncml-tokens.ts).
 *
 * Two interchangeable implementations: WASM (AssemblyScript modules in wasm/assembly, compiled to
 * dist/wasm/*.wasm, handed over as bytes by the HAL's WasmHost) and JS (@noble/hashes + a TS
 * diff) for runtimes without WebAssembly such as QuickJS, imported only when needed (a chunk). Portable: no fs, no WebAssembly global,
 * no TextEncoder requirement (type-checked by agent/tsconfig.json).
 *
 * This is the barrel for tests, tools and families; the agent's core imports ./load.ts and
 * ./src/errors.ts directly, so that what is re-exported here (the SyncML token tables, hash-state
 * helpers, delta types) is not pulled into the core by `loadEngines`.
 */
export { loadEngines } from './load.ts';

export type { DiffPlan, EngineKind, Engines, HashAlgorithm, LoadEnginesOptions, PackageEntry, StreamingHash } from './src/types.ts';
export { DiffInputError, EngineError, HashError } from './src/errors.ts';
export type { DiffSide, EngineErrorCode, HashErrorCode } from './src/errors.ts';
export { STATE_SIZE as HASH_STATE_SIZE } from './src/hash-state.ts';
export { DeltaError } from './src/delta-types.ts';
export type { DeltaApplyOptions, DeltaErrorCode, DeltaFormat, DeltaResult, DeltaSink, RangeReader } from './src/delta-types.ts';
export { DEFAULT_WINDOW_BUDGET, detectDeltaFormat } from './src/delta-format.ts';
export { SyncmlError, SYNCML_ERROR_CODES } from './src/errors.ts';
export type { SyncmlErrorCode } from './src/errors.ts';
export * from './src/syncml-tokens.ts';
