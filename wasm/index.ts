/**
 * Hot-path engines: SHA-256 / MD5 (streaming, resumable), HMAC, the package-list diff and the
 * SyncML tokenizer (XML and WBXML → the token stream of src/syncml-tokens.ts).
 *
 * Two interchangeable implementations: WASM (AssemblyScript modules in wasm/assembly, compiled to
 * dist/wasm/*.wasm, handed over as bytes by the HAL's WasmHost) and JS (@noble/hashes + a TS
 * diff) for runtimes without WebAssembly such as QuickJS, imported only when needed (a chunk). Portable: no fs, no WebAssembly global,
 * no TextEncoder requirement (type-checked by agent/tsconfig.json).
 */
import { EngineError } from './src/errors.ts';
import { createWasmEngines } from './src/engines-wasm.ts';
import { withNativeHashing } from './src/native.ts';
import type { Engines, LoadEnginesOptions } from './src/types.ts';

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

/** The JS engines are a chunk of their own (./src/engines-js.ts): loaded only when nothing else serves. */
async function createJsEngines(): Promise<Engines> {
  return (await import('./src/engines-js.ts')).createJsEngines();
}

/**
 * Engine order native → WASM → JS, every one with the same output.
 * 'auto' (default): hashing on `options.native` when given (see src/native.ts), everything else
 * (and resuming exported hash states) on WASM when `options.wasm` is given and its modules
 * instantiate, else JS.
 * 'native': the same, but a typed EngineError 'nativeUnavailable' without `options.native`.
 * 'wasm': WASM or a typed EngineError ('wasmUnavailable' without a host, 'wasmFailed' when the
 * host cannot load or instantiate the modules). 'js': always JS.
 */
export async function loadEngines(options: LoadEnginesOptions = {}): Promise<Engines> {
  const engine = options.engine ?? 'auto';
  if (engine !== 'auto' && engine !== 'native' && engine !== 'wasm' && engine !== 'js')
    throw new EngineError('invalidOptions', `engine must be 'auto', 'native', 'wasm' or 'js', got ${String(engine)}`);
  if (engine === 'native' || (engine === 'auto' && options.native !== undefined)) {
    if (options.native === undefined) throw new EngineError('nativeUnavailable', "engine 'native' requested but the host offers no digest engine");
    const { native, ...portable } = options;
    return withNativeHashing(await loadEngines({ ...portable, engine: 'auto' }), native);
  }
  if (engine === 'js') return createJsEngines();
  if (options.wasm === undefined) {
    if (engine === 'wasm') throw new EngineError('wasmUnavailable', "engine 'wasm' requested but no WasmHost was provided (no WebAssembly on this runtime?)");
    return createJsEngines();
  }
  try {
    return await createWasmEngines(options.wasm);
  } catch (error) {
    if (engine === 'wasm') throw new EngineError('wasmFailed', `WASM engines failed to load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    return createJsEngines();
  }
}
