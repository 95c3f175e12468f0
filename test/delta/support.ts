/** Shared helpers of the delta suites: in-memory readers and sinks, apply with either engine. */
import { engines } from '../wasm/engines.ts';
import type { DeltaApplyOptions, DeltaResult, RangeReader } from '../../wasm/index.ts';

export { CONFORMANCE_DIR, ENGINES } from '../wasm/engines.ts';

export function memoryReader(bytes: Uint8Array): RangeReader {
  return (offset, length) => bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
}

export interface Applied extends DeltaResult {
  output: Uint8Array;
}

/** Applies with the named engine, collecting the output (copied: sink chunks are views). */
export async function applyWith(engine: 'wasm' | 'js', source: Uint8Array, patch: Uint8Array, options?: DeltaApplyOptions): Promise<Applied> {
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
export async function applyError(engine: 'wasm' | 'js', source: Uint8Array, patch: Uint8Array, options?: DeltaApplyOptions): Promise<{ code: string; name: string; message: string }> {
  try {
    await applyWith(engine, source, patch, options);
  } catch (error) {
    return error as { code: string; name: string; message: string };
  }
  throw new Error('apply succeeded where it should fail');
}
