/** Bundled for QuickJS by test/delta/quickjs.test.ts: applies a patch with the engines 'auto' picks there (JS). */
import { fromBase64, toHex } from '../../agent/util/bytes.ts';
import { loadEngines } from '../../wasm/index.ts';

export async function run(sourceB64: string, patchB64: string): Promise<string> {
  const source = fromBase64(sourceB64);
  const patch = fromBase64(patchB64);
  const engines = await loadEngines({ engine: 'auto' });
  const slice = (bytes: Uint8Array) => (offset: number, length: number) => bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
  const result = await engines.applyDelta(slice(source), slice(patch), () => undefined);
  return `${engines.kind} ${result.format} ${result.bytesWritten} ${toHex(result.sha256)}`;
}
