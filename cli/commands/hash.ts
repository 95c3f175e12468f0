/**
 * `dm-agent hash <file> [--algo sha256|md5] [--engine wasm|js]`: prints the file's lowercase hex
 * digest. Streams through one reused 1 MiB buffer, so files of any size hash in constant memory.
 */
import { open } from 'node:fs/promises';
import { toHex } from '../../agent/util/bytes.ts';
import { loadEngines, type EngineKind, type HashAlgorithm } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileProblem, parseOptions } from '../io.ts';

const USAGE = 'usage: dm-agent hash <file> [--algo sha256|md5] [--engine wasm|js]';
const CHUNK = 1024 * 1024;


export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, unknown } = parseOptions(args, [], ['algo', 'engine']);
  const algorithm = options['algo'] ?? 'sha256';
  const engine = options['engine'];
  const problems = [...unknown];
  if (positional.length !== 1) problems.push(positional.length === 0 ? 'missing <file>' : 'expected exactly one <file>');
  if (algorithm !== 'sha256' && algorithm !== 'md5') problems.push(`--algo must be sha256 or md5, got ${String(algorithm)}`);
  if (engine !== undefined && engine !== 'wasm' && engine !== 'js') problems.push(`--engine must be wasm or js, got ${String(engine)}`);
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
    engines = await loadEngines({ wasm: createNodeWasmHost(), engine: (engine as EngineKind | undefined) ?? 'auto' });
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
