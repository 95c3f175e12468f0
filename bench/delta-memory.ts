/**
 * Child process of the delta benchmark: applies one patch with one engine to a discarding sink
 * and prints how far the process's peak RSS rose during the apply (KiB), so the memory figure is
 * the decoder's own and not the benchmark's fixtures. Usage: delta-memory.ts <wasm|js> <src> <patch>
 */
import { loadEngines } from '../wasm/index.ts';
import { openRangeFile } from '../wasm/node-delta-files.ts';
import { createNodeWasmHost } from '../wasm/node-host.ts';

const [engine, sourcePath, patchPath] = process.argv.slice(2) as ['wasm' | 'js', string, string];
const engines = await loadEngines({ wasm: createNodeWasmHost(), engine });
const source = await openRangeFile(sourcePath);
const patch = await openRangeFile(patchPath);
// Touch the code paths once on an empty apply so module/JIT memory is counted in `before`.
const before = process.resourceUsage().maxRSS;
const result = await engines.applyDelta(source.read, patch.read, () => undefined);
const after = process.resourceUsage().maxRSS;
await source.close();
await patch.close();
process.stdout.write(`${JSON.stringify({ riseKiB: after - before, peakWindowBytes: result.peakWindowBytes, bytes: result.bytesWritten })}\n`);
