/**
 * `dm-agent trust verify <metadata dir> [--root FILE] [--artifacts DIR]`: runs the device's own
 * verification (agent/trust, the same code) over a metadata directory: the root chain from the
 * given root (default: the directory's 1.root.json), timestamp, snapshot, targets, expiry against
 * this host's clock. With --artifacts, each target found under DIR/<target path> is checked too.
 * Prints one line per role and the refusal code when something is wrong (exit 1).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyValueStore } from '../../agent/store/index.ts';
import { checkArtifact } from '../../agent/trust/artifact.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { refreshMetadata } from '../../agent/trust/updater.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { nodeTrustCrypto } from '../../hal/node/signatures.ts';
import { readMetadataFile } from '../../server/metadata.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText, fileProblem } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

export const spec: CommandSpec = {
  name: 'trust',
  summary: 'verify signed update metadata as a device would: dm-agent trust verify <metadata dir> [--root FILE]',
  args: 'verify <metadata dir>',
  options: [
    { name: 'root', value: 'FILE', help: 'the trusted root to start from (default: <dir>/1.root.json)' },
    { name: 'artifacts', value: 'DIR', help: 'also check every target found at DIR/<target path>' },
  ],
};

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, problems } = parseArgs(spec.options, args);
  if (positional.length !== 2 || positional[0] !== 'verify') problems.push('expected: trust verify <metadata dir>');
  if (problems.length > 0) return usageError(io, spec, problems);
  const dir = positional[1] as string;
  const rootFile = typeof options['root'] === 'string' ? options['root'] : join(dir, '1.root.json');
  let root: Uint8Array;
  try {
    root = new Uint8Array(await readFile(rootFile));
  } catch (error) {
    const problem = fileProblem(rootFile, error);
    io.stderr(`dm-agent trust: ${problem.message}\n`);
    return problem.code;
  }
  try {
    // The device's state lives in a throw-away simulated flash: verify never writes anything here.
    const memory = new MockFlashMemory({ blockLength: 4096, writeAlign: 8, partitions: [{ name: 'state', size: 4096 * 64 }] });
    const store = await KeyValueStore.open(await createMockFlash(memory, new PowerCut()).open({ partition: 'state' }));
    const state = new TrustState(store);
    await state.provision(root);
    const source = { fetch: async (file: string) => readMetadataFile(dir, file) };
    const set = await refreshMetadata(state, source, { rtcMs: Date.now() }, nodeTrustCrypto());
    const targets = set.targets()!;
    const when = (ms: number) => new Date(ms).toISOString();
    io.stdout(`root       version ${set.root.version}, expires ${when(set.root.expiresMs)}\n`);
    io.stdout(`timestamp  version ${set.timestamp!.version}, expires ${when(set.timestamp!.expiresMs)}\n`);
    io.stdout(`snapshot   version ${set.snapshot!.version}, expires ${when(set.snapshot!.expiresMs)}\n`);
    io.stdout(`targets    version ${targets.version}, expires ${when(targets.expiresMs)}, ${targets.targets.size} target(s)\n`);
    let failed = 0;
    if (typeof options['artifacts'] === 'string') {
      for (const target of targets.targets.values()) {
        let bytes: Buffer;
        try {
          bytes = await readFile(join(options['artifacts'], target.path));
        } catch {
          continue;
        }
        try {
          checkArtifact(target, { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
          io.stdout(`ok         ${target.path}\n`);
        } catch (error) {
          failed++;
          io.stdout(`REFUSED    ${target.path}: ${(error as Error).message}\n`);
        }
      }
    }
    io.stdout(failed === 0 ? 'verified\n' : `${failed} artifact(s) refused\n`);
    return failed === 0 ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    io.stderr(`dm-agent trust: ${error instanceof TrustError ? `refused (${error.code}): ${error.message}` : errorText(error)}\n`);
    return EXIT_FAILED;
  }
}
