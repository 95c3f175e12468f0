/**
 * The two Engines implementations, for callers that pick one (tests, tools): JS (always
 * available) and WASM (modules instantiated through the HAL's WasmHost). The agent goes through
 * ../index.ts `loadEngines`, which loads the JS engines only when it needs them.
 */
export { createJsEngines } from './engines-js.ts';
export { createWasmEngines, type WasmEngineOptions } from './engines-wasm.ts';
