/**
 * Child process of the delta benchmark: applies one patch with one engine to a discarding sink
 * and prints how far the resident set rose above its level just before the apply (sampled at
 * every sink call, i.e. with each window in memory), so the figure is the decoder's own and not
 * the benchmark's fixtures or start-up. Usage: delta-memory.ts <wasm|js> <src> <patch>
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadEngines } from '../wasm/index.ts';
import { openRangeFile } from '../wasm/node-delta-files.ts';
import { createNodeWasmHost } from '../wasm/node-host.ts';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const [engine, sourcePath, patchPath] = process.argv.slice(2) as ['wasm' | 'js', string, string];
const engines = await loadEngines({ wasm: createNodeWasmHost(), engine });
const source = await openRangeFile(sourcePath);
const patch = await openRangeFile(patchPath);
collect();
const before = process.memoryUsage.rss();
let peak = before;
const result = await engines.applyDelta(source.read, patch.read, () => {
  peak = Math.max(peak, process.memoryUsage.rss());
});
await source.close();
await patch.close();
process.stdout.write(`${JSON.stringify({ riseKiB: Math.round((peak - before) / 1024), peakWindowBytes: result.peakWindowBytes, bytes: result.bytesWritten })}\n`);
