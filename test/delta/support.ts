/**
 * Shared helpers of the delta suites: in-memory readers and sinks, apply with any engine:
 *   wasm         — delta.wasm (SIMD checksums and add loop)
 *   wasm-scalar  — delta-scalar.wasm, what a host without WASM SIMD gets
 *   js           — the JS fallback
 */
import { loadEngines, type DeltaApplyOptions, type DeltaResult, type Engines, type RangeReader } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { engines as sharedEngines } from '../wasm/engines.ts';

export { CONFORMANCE_DIR } from '../wasm/engines.ts';

export const ENGINES = ['wasm', 'wasm-scalar', 'js'] as const;
export type DeltaEngineVariant = (typeof ENGINES)[number];

let scalar: Promise<Engines> | undefined;

export function engines(variant: DeltaEngineVariant): Promise<Engines> {
  if (variant !== 'wasm-scalar') return sharedEngines(variant);
  scalar ??= loadEngines({ wasm: createNodeWasmHost({ unavailable: ['hash', 'delta'] }), engine: 'wasm' });
  return scalar;
}

export function memoryReader(bytes: Uint8Array): RangeReader {
  return (offset, length) => bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
}

export interface Applied extends DeltaResult {
  output: Uint8Array;
}

/** Applies with the named engine, collecting the output (copied: sink chunks are views). */
export async function applyWith(engine: DeltaEngineVariant, source: Uint8Array, patch: Uint8Array, options?: DeltaApplyOptions): Promise<Applied> {
  const e = await engines(engine);
  const chunks: Uint8Array[] = [];
  const result = await e.applyDelta(memoryReader(source), memoryReader(patch), (chunk) => void chunks.push(chunk.slice()), options);
  const output = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    output.set(c, at);
    at += c.length;
  }
  return { ...result, output };
}

/** The error an apply rejects with (fails the test when it resolves). */
export async function applyError(engine: DeltaEngineVariant, source: Uint8Array, patch: Uint8Array, options?: DeltaApplyOptions): Promise<{ code: string; name: string; message: string }> {
  try {
    await applyWith(engine, source, patch, options);
  } catch (error) {
    return error as { code: string; name: string; message: string };
  }
  throw new Error('apply succeeded where it should fail');
}
