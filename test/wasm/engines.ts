/**
 * Engines under test. Suites are written once and run against every variant:
 *   wasm         — dist/wasm/hash.wasm (SIMD) + diff.wasm
 *   js           — @noble/hashes + the TS diff
 *   wasm-scalar  — hash-scalar.wasm, what a host without WASM SIMD gets (hash suites only)
 * Assumes `npm run build:wasm` ran (npm test builds first).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadEngines, type Engines } from '../../wasm/index.ts';
import { createWasmEngines } from '../../wasm/src/engines.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';

export const ENGINES = ['wasm', 'js'] as const;
export const HASH_ENGINES = ['wasm', 'js', 'wasm-scalar'] as const;
export type EngineVariant = (typeof HASH_ENGINES)[number] | 'wasm-portable';

const cache = new Map<EngineVariant, Promise<Engines>>();

export function engines(variant: EngineVariant): Promise<Engines> {
  let loaded = cache.get(variant);
  if (!loaded) {
    if (variant === 'js') loaded = loadEngines({ engine: 'js' });
    else if (variant === 'wasm') loaded = loadEngines({ wasm: createNodeWasmHost(), engine: 'wasm' });
    else if (variant === 'wasm-scalar') loaded = loadEngines({ wasm: createNodeWasmHost({ unavailable: ['hash'] }), engine: 'wasm' });
    // The WASM diff with the per-character encoder instead of TextEncoder.
    else loaded = createWasmEngines(createNodeWasmHost(), { portableEncoding: true });
    cache.set(variant, loaded);
  }
  return loaded;
}

const wasmDirectory = fileURLToPath(new URL('../../dist/wasm/', import.meta.url));
if (!existsSync(`${wasmDirectory}hash.wasm`)) {
  console.warn(`test/wasm: ${wasmDirectory}hash.wasm is missing; run \`npm run build:wasm\` first`);
}

/** Conformance vectors, read in place (never copied into the repo). */
export const CONFORMANCE_DIR = process.env['DM_CONFORMANCE_DIR'] ?? fileURLToPath(new URL('../../../shared/conformance/', import.meta.url));
