/**
 * `dm-agent delta apply <source> <patch> <out> [--format vcdiff|bsdiff] [--engine wasm|js]
 *  [--window-budget BYTES] [--source-sha256 HEX] [--target-sha256 HEX]`: applies a VCDIFF
 * (xdelta3) or bsdiff patch, streaming: the source is read at the offsets the patch names, the
 * result is written in order to `<out>.partial` and renamed to `<out>` only when the whole patch
 * applied (and matched --target-sha256), so a failed apply never leaves a file that looks done.
 * Exit 0 ok; 2 bad usage or bad input (corrupt/unsupported patch, wrong source, missing file);
 * 1 other failures (I/O).
 */
import { open, rename, rm } from 'node:fs/promises';
import { fromHex, toHex } from '../../agent/util/bytes.ts';
import { DeltaError, loadEngines, type DeltaFormat, type EngineKind } from '../../wasm/index.ts';
import { createNodeDigestHost } from '../../hal/node/digest.ts';
import { fileSink, openRangeFile, type OpenDeltaFile } from '../../wasm/node-delta-files.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileProblem, parseOptions } from '../io.ts';

/**
 * The command's declaration in the shape of cli/spec.ts CommandSpec (branch cli-fuzz), so its
 * registry entry there is `delta: () => import('./commands/delta.ts')`.
 */
export const spec = {
  name: 'delta',
  summary: 'apply a VCDIFF/bsdiff patch: dm-agent delta apply <source> <patch> <out> [--format vcdiff|bsdiff]',
  args: 'apply <source> <patch> <out>',
  options: [
    { name: 'format', value: 'vcdiff|bsdiff', help: 'patch format (default: detected from its first bytes)' },
    { name: 'engine', value: 'wasm|js', help: 'engine (default: WASM when it loads, else JS)' },
    { name: 'window-budget', value: 'BYTES', help: 'largest VCDIFF window held in memory (default 72 MiB)' },
    { name: 'source-sha256', value: 'HEX', help: 'refuse a source without this SHA-256 (checked before writing)' },
    { name: 'target-sha256', value: 'HEX', help: 'refuse a result without this SHA-256 (no <out> then)' },
  ],
  notes: 'Writes <out>.partial and renames it to <out> only after a complete apply. Exit 2 for a corrupt, unsupported or truncated patch or a wrong source.',
} as const;

const USAGE = 'usage: dm-agent delta apply <source> <patch> <out> [--format vcdiff|bsdiff] [--engine wasm|js] [--window-budget BYTES] [--source-sha256 HEX] [--target-sha256 HEX]';

function hexDigest(value: string | true | undefined, name: string, problems: string[]): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    problems.push(`--${name} must be 64 hex digits`);
    return undefined;
  }
  return fromHex(value.toLowerCase());
}

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, unknown } = parseOptions(args, [], spec.options.map((o) => o.name));
  const problems = [...unknown];
  const [verb, ...files] = positional;
  if (verb !== 'apply') problems.push(verb === undefined ? 'missing subcommand (apply)' : `unknown subcommand ${JSON.stringify(verb)}`);
  else if (files.length !== 3) problems.push('expected <source> <patch> <out>');
  const format = options['format'];
  if (format !== undefined && format !== 'vcdiff' && format !== 'bsdiff') problems.push(`--format must be vcdiff or bsdiff, got ${String(format)}`);
  const engine = options['engine'];
  if (engine !== undefined && engine !== 'wasm' && engine !== 'js') problems.push(`--engine must be wasm or js, got ${String(engine)}`);
  const budgetText = options['window-budget'];
  const budget = budgetText === undefined ? undefined : Number(budgetText);
  if (budget !== undefined && (!Number.isSafeInteger(budget) || budget <= 0)) problems.push('--window-budget must be a positive integer');
  const sourceSha256 = hexDigest(options['source-sha256'], 'source-sha256', problems);
  const targetSha256 = hexDigest(options['target-sha256'], 'target-sha256', problems);
  if (problems.length > 0) {
    io.stderr(`dm-agent delta: ${problems.join('; ')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const [sourcePath, patchPath, outPath] = files as [string, string, string];

  const opened: OpenDeltaFile[] = [];
  try {
    for (const path of [sourcePath, patchPath]) {
      try {
        opened.push(await openRangeFile(path));
      } catch (error) {
        const problem = fileProblem(path, error);
        io.stderr(`dm-agent delta: ${problem.message}\n`);
        return problem.code;
      }
    }
    const [source, patch] = opened as [OpenDeltaFile, OpenDeltaFile];
    const engines = await loadEngines({ wasm: createNodeWasmHost(), native: createNodeDigestHost(), engine: (engine as EngineKind | undefined) ?? 'auto' });
    const partial = `${outPath}.partial`;
    const out = await open(partial, 'w');
    let result;
    try {
      result = await engines.applyDelta(source.read, patch.read, fileSink(out), {
        format: format as DeltaFormat | undefined,
        windowBudget: budget,
        sourceSha256,
        sourceSize: source.size,
        targetSha256,
      });
      await out.sync();
    } catch (error) {
      await out.close();
      await rm(partial, { force: true });
      throw error;
    }
    await out.close();
    await rename(partial, outPath);
    const saved = result.bytesWritten > 0 ? ` (patch is ${((patch.size / result.bytesWritten) * 100).toFixed(1)} % of the result)` : '';
    io.stdout(`${outPath}: ${result.bytesWritten} bytes from a ${result.format} patch of ${patch.size} bytes${saved}, sha256 ${toHex(result.sha256)}\n`);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof DeltaError) {
      io.stderr(`dm-agent delta: ${error.code}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`dm-agent delta: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  } finally {
    await Promise.all(opened.map((f) => f.close()));
  }
}
