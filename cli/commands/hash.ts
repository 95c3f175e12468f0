/**
 * `dm-agent hash <file> [--algo sha256|md5] [--engine native|wasm|js]`: prints the file's lowercase
 * hex digest. Streams through one reused 1 MiB buffer, so files of any size hash in constant memory.
 * Only regular files: a FIFO or a device (/dev/zero never ends) is refused, never waited on.
 * `dm-agent hash --engine list` prints the engines in the order the agent picks them
 * (native → WASM → JS) and whether this host has each.
 */
import { toHex } from '../../agent/util/bytes.ts';
import { loadEngines, type EngineKind, type HashAlgorithm } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { createNodeDigestHost } from '../../hal/node/digest.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText, fileProblem, openRegularFile } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

const CHUNK = 1024 * 1024;
const ENGINES = ['native', 'wasm', 'js'] as const;

export const spec: CommandSpec = {
  name: 'hash',
  summary: 'print a file digest: dm-agent hash <file> [--algo sha256|md5] [--engine native|wasm|js|list]',
  args: '<file>',
  options: [
    { name: 'algo', value: 'sha256|md5', help: 'digest algorithm (default sha256)' },
    { name: 'engine', value: 'native|wasm|js|list', help: 'hash engine (default: native, else wasm when built, else js); list: show which this host has' },
  ],
};

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, problems } = parseArgs(spec.options, args);
  const algorithm = options['algo'] ?? 'sha256';
  const engine = options['engine'];
  if (engine === 'list' && positional.length === 0 && problems.length === 0) return listEngines(io);
  if (positional.length !== 1) problems.push(positional.length === 0 ? 'missing <file>' : 'expected exactly one <file>');
  if (algorithm !== 'sha256' && algorithm !== 'md5') problems.push(`--algo must be sha256 or md5, got ${String(algorithm)}`);
  if (engine !== undefined && (typeof engine !== 'string' || !(ENGINES as readonly string[]).includes(engine))) problems.push(`--engine must be native, wasm, js or list, got ${String(engine)}`);
  if (problems.length > 0) return usageError(io, spec, problems);
  const file = positional[0] as string;

  let handle;
  try {
    handle = await openRegularFile(file);
  } catch (error) {
    const problem = fileProblem(file, error);
    io.stderr(`dm-agent hash: ${problem.message}\n`);
    return problem.code;
  }
  let engines;
  try {
    engines = await loadEngines({ wasm: createNodeWasmHost(), native: createNodeDigestHost(), engine: (engine as EngineKind | undefined) ?? 'auto' });
  } catch (error) {
    await handle.close();
    io.stderr(`dm-agent hash: ${errorText(error)}\n`);
    return EXIT_FAILED;
  }
  try {
    const hash = engines.createHash(algorithm as HashAlgorithm);
    const buffer = new Uint8Array(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead));
    }
    io.stdout(`${toHex(hash.digest())}\n`);
    return EXIT_OK;
  } catch (error) {
    const problem = fileProblem(file, error);
    io.stderr(`dm-agent hash: ${problem.message}\n`);
    return problem.code;
  } finally {
    await handle.close();
  }
}

/** One line per engine, in the agent's order of preference; the first available one is used. */
async function listEngines(io: CommandIo): Promise<number> {
  const native = createNodeDigestHost();
  const lines: string[] = [];
  for (const kind of ENGINES) {
    try {
      await loadEngines({ wasm: createNodeWasmHost(), native, engine: kind });
      const detail = kind === 'native' ? `${native.name}: ${native.algorithms.join(', ')}` : kind === 'wasm' ? 'WebAssembly modules: sha256, md5' : 'portable JS: sha256, md5';
      lines.push(`${kind.padEnd(7)} available  ${detail}`);
    } catch (error) {
      lines.push(`${kind.padEnd(7)} missing    ${(error as Error).message}`);
    }
  }
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}
