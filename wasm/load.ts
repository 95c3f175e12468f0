/**
 * `loadEngines`: picks the engines the agent runs on (native → WASM → JS) and loads only the one it
 * picks. Kept apart from the barrel (./index.ts) so that the agent's core, which needs nothing
 * else from wasm/, does not carry the barrel's re-exports.
 */
import { EngineError } from './src/errors.ts';
import type { Engines, LoadEnginesOptions } from './src/types.ts';

/**
 * Each engine family is a chunk of its own, loaded only when picked: the JS engines
 * (./src/engines-js.ts) when nothing else serves, the WASM drivers (./src/engines-wasm.ts) when the
 * HAL offers WebAssembly, the native-hashing wrapper (./src/native.ts) when it offers a digest
 * engine. A QuickJS guest (no WebAssembly, no digest host) never loads the WASM drivers.
 */
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
    const base = await loadEngines({ ...portable, engine: 'auto' });
    return (await import('./src/native.ts')).withNativeHashing(base, native);
  }
  if (engine === 'js') return createJsEngines();
  if (options.wasm === undefined) {
    if (engine === 'wasm') throw new EngineError('wasmUnavailable', "engine 'wasm' requested but no WasmHost was provided (no WebAssembly on this runtime?)");
    return createJsEngines();
  }
  try {
    return await (await import('./src/engines-wasm.ts')).createWasmEngines(options.wasm);
  } catch (error) {
    if (engine === 'wasm') throw new EngineError('wasmFailed', `WASM engines failed to load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    return createJsEngines();
  }
}
