/**
 * `dm-agent hash <file> [--algo sha256|md5] [--engine wasm|js]`: prints the file's lowercase hex
 * digest. Streams through one reused 1 MiB buffer, so files of any size hash in constant memory.
 * Only regular files: a FIFO or a device (/dev/zero never ends) is refused, never waited on.
 */
import { toHex } from '../../agent/util/bytes.ts';
import { loadEngines, type EngineKind, type HashAlgorithm } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText, fileProblem, openRegularFile } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

const CHUNK = 1024 * 1024;

export const spec: CommandSpec = {
  name: 'hash',
  summary: 'print a file digest: dm-agent hash <file> [--algo sha256|md5] [--engine wasm|js]',
  args: '<file>',
  options: [
    { name: 'algo', value: 'sha256|md5', help: 'digest algorithm (default sha256)' },
    { name: 'engine', value: 'wasm|js', help: 'hash engine (default: wasm when built, else js)' },
  ],
};

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, problems } = parseArgs(spec.options, args);
  const algorithm = options['algo'] ?? 'sha256';
  const engine = options['engine'];
  if (positional.length !== 1) problems.push(positional.length === 0 ? 'missing <file>' : 'expected exactly one <file>');
  if (algorithm !== 'sha256' && algorithm !== 'md5') problems.push(`--algo must be sha256 or md5, got ${String(algorithm)}`);
  if (engine !== undefined && engine !== 'wasm' && engine !== 'js') problems.push(`--engine must be wasm or js, got ${String(engine)}`);
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
    engines = await loadEngines({ wasm: createNodeWasmHost(), engine: (engine as EngineKind | undefined) ?? 'auto' });
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
