/**
 * The WASM engines: the AssemblyScript modules instantiated through the HAL's WasmHost. Same
 * surface as the JS engines (./engines-js.ts); HMAC is one construction over either hash.
 */
import type { WasmHost } from '../../hal/types.ts';
import { deltaApplier } from './delta-applier.ts';
import { asDeltaExports } from './delta-exports.ts';
import { asDiffExports, createWasmDiff, type WasmDiffOptions } from './diff-wasm.ts';
import { checkAlgorithm } from './hash-state.ts';
import { hmacWith } from './hmac.ts';
import { asSyncmlExports, createWasmSyncml } from './syncml-wasm.ts';
import { WasmHashModule, asHashExports } from './wasm-hash.ts';
import type { Engines } from './types.ts';

// The modules import nothing with --runtime stub and --noAssert; abort is provided in case a
// future build keeps assertions.
const IMPORTS = {
  env: {
    abort(): never {
      throw new Error('wasm module aborted');
    },
  },
};

async function instantiate(host: WasmHost, name: string): Promise<Record<string, unknown>> {
  return host.instantiate(await host.moduleBytes(name), IMPORTS);
}

/**
 * `hash` and `delta` need WASM SIMD; hosts without it (interpreters, older engines) fail to
 * compile them and get `<name>-scalar`, the same module built without SIMD.
 */
async function instantiateSimd(host: WasmHost, name: 'hash' | 'delta'): Promise<Record<string, unknown>> {
  try {
    return await instantiate(host, name);
  } catch (simdError) {
    try {
      return await instantiate(host, `${name}-scalar`);
    } catch {
      throw simdError;
    }
  }
}

export type WasmEngineOptions = WasmDiffOptions;

export async function createWasmEngines(host: WasmHost, options: WasmEngineOptions = {}): Promise<Engines> {
  const [hashExports, diffExports, syncmlExports, deltaExports] = await Promise.all([instantiateSimd(host, 'hash'), instantiate(host, 'diff'), instantiate(host, 'syncml'), instantiateSimd(host, 'delta')]);
  const hashes = new WasmHashModule(asHashExports(hashExports));
  const createHash = (algorithm: Parameters<Engines['createHash']>[0], state?: Uint8Array) => hashes.create(checkAlgorithm(algorithm), state);
  const delta = asDeltaExports(deltaExports);
  return {
    kind: 'wasm',
    createHash,
    hash: (algorithm, data) => hashes.hashOnce(checkAlgorithm(algorithm), data),
    hmac: (algorithm, key, data) => hmacWith(createHash, checkAlgorithm(algorithm), key, data),
    diff: createWasmDiff(asDiffExports(diffExports), options),
    // The delta driver loads with the format readers, at the first apply (./delta-applier.ts).
    applyDelta: deltaApplier(async () => (await import('./delta-wasm.ts')).createWasmDelta(delta), () => createHash('sha256')),
    syncmlTokenize: createWasmSyncml(asSyncmlExports(syncmlExports)),
  };
}
