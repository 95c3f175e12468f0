/**
 * `dm-agent hash <file> [--algo sha256|md5] [--engine native|wasm|js]`: prints the file's lowercase
 * hex digest. Streams through one reused 1 MiB buffer, so files of any size hash in constant memory.
 * `dm-agent hash --engine list` prints the engines in the order the agent picks them
 * (native → WASM → JS) and whether this host has each.
 */
import { open } from 'node:fs/promises';
import { toHex } from '../../agent/util/bytes.ts';
import { loadEngines, type EngineKind, type HashAlgorithm } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { createNodeDigestHost } from '../../hal/node/digest.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileProblem, parseOptions } from '../io.ts';

const USAGE = 'usage: dm-agent hash <file> [--algo sha256|md5] [--engine native|wasm|js]\n       dm-agent hash --engine list';
const ENGINES = ['native', 'wasm', 'js'] as const;
const CHUNK = 1024 * 1024;


export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, unknown } = parseOptions(args, [], ['algo', 'engine']);
  const algorithm = options['algo'] ?? 'sha256';
  const engine = options['engine'];
  const problems = [...unknown];
  if (engine === 'list' && positional.length === 0 && problems.length === 0) return listEngines(io);
  if (positional.length !== 1) problems.push(positional.length === 0 ? 'missing <file>' : 'expected exactly one <file>');
  if (algorithm !== 'sha256' && algorithm !== 'md5') problems.push(`--algo must be sha256 or md5, got ${String(algorithm)}`);
  if (engine !== undefined && (typeof engine !== 'string' || !(ENGINES as readonly string[]).includes(engine))) problems.push(`--engine must be native, wasm, js or list, got ${String(engine)}`);
  if (problems.length > 0) {
    io.stderr(`dm-agent hash: ${problems.join('; ')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const file = positional[0] as string;

  let handle;
  try {
    handle = await open(file, 'r');
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
    io.stderr(`dm-agent hash: ${(error as Error).message}\n`);
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
