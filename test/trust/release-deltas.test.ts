/**
 * `dm-agent release sign --images FOLDER --deltas DIR`: the release signs, next to each image, a
 * patch (the real xdelta3) from every older version of its model, made into DIR; `trust verify`
 * accepts the result; the signed patch is exactly a file in DIR and `dm-agent delta apply` turns
 * the older image into the newer one with it; `dm-agent omadm-server --deltas DIR` serves it where
 * the signed path points, seen from the package URL.
 */
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { run as omadmServer } from '../../cli/commands/omadm-server.ts';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { resolveDeltaPath } from '../../agent/trust/target-deltas.ts';
import type { RunningDmServer } from '../../server/omadm/index.ts';
import { MANIFEST_FORMAT } from '../../server/updates/manifest.ts';
import { sha256Hex } from './fixture.ts';

const OLD = xorshiftBytes(16 * 1024, 31);
const NEW = revisedBytes(OLD, 16 * 1024, 32);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'release-deltas-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

describe('dm-agent release sign --deltas', () => {
  it('signs a patch from the older version, that the DM server serves next to the package and that rebuilds the image', async () => {
    const keys = join(dir, 'keys');
    const meta = join(dir, 'metadata');
    const deltas = join(dir, 'deltas');
    expect((await cli('keys', 'generate', '--out', keys)).code).toBe(0);
    expect((await cli('keys', 'root', '--keys', keys, '--out', meta)).code).toBe(0);
    const images = join(dir, 'images');
    await mkdir(images, { recursive: true });
    await writeFile(join(images, 'fw-1.0.0.bin'), OLD);
    await writeFile(join(images, 'fw-2.0.0.bin'), NEW);
    const manifest = { format: MANIFEST_FORMAT, images: [{ model: 'Widget', version: '1.0.0', file: 'fw-1.0.0.bin' }, { model: 'Widget', version: '2.0.0', file: 'fw-2.0.0.bin' }] };
    await writeFile(join(images, 'manifest.json'), JSON.stringify(manifest));
    const signed = await cli('release', 'sign', '--images', images, '--deltas', deltas, '--keys', keys, '--out', meta);
    expect(signed).toMatchObject({ code: 0, stderr: '' });
    expect(signed.stdout).toMatch(/1 delta\(s\) signed/);
    expect((await cli('trust', 'verify', meta)).code).toBe(0);

    const targets = JSON.parse(await readFile(join(meta, 'targets.json'), 'utf8')) as { signed: { targets: Record<string, { custom: { deltas?: Record<string, unknown>[] } }> } };
    expect(targets.signed.targets['images/Widget/1.0.0']?.custom.deltas).toBeUndefined();
    const [delta] = targets.signed.targets['images/Widget/2.0.0']!.custom.deltas!;
    expect(delta).toMatchObject({ from: '1.0.0', sourceLength: OLD.length, sourceSha256: sha256Hex(OLD), format: 'vcdiff' });
    const patchSha = (delta!['hashes'] as { sha256: string }).sha256;
    expect(delta!['path']).toBe(`deltas/${patchSha}`);
    const [file] = (await readdir(deltas)).filter((n) => n.endsWith('.vcdiff'));
    const patch = new Uint8Array(await readFile(join(deltas, file!)));
    expect(sha256Hex(patch)).toBe(patchSha);
    expect(patch.length).toBe(delta!['length']);
    expect(patch.length).toBeLessThan(NEW.length / 2);

    // Our decoder rebuilds the new image from the old one with the signed patch.
    const out = join(dir, 'rebuilt.bin');
    expect((await cli('delta', 'apply', join(images, 'fw-1.0.0.bin'), join(deltas, file!), out)).code).toBe(0);
    expect(sha256Hex(new Uint8Array(await readFile(out)))).toBe(sha256Hex(NEW));

    // The DM server given DIR serves the patch where the signed path leads from the package URL.
    const secret = join(dir, 'server-secret');
    await writeFile(secret, 'server-secret-for-the-cli-0123\n');
    await chmod(secret, 0o600);
    const controller = new AbortController();
    let running: RunningDmServer | undefined;
    let stdout = '';
    let listening: () => void = () => undefined;
    const listened = new Promise<void>((resolve) => (listening = resolve));
    const exited = omadmServer(['--server-secret-file', secret, '--package', join(images, 'fw-2.0.0.bin'), '--deltas', deltas], { stdout: (t) => void (stdout += t), stderr: () => undefined }, {
      signal: controller.signal,
      onListening: (r) => ((running = r), listening()),
    });
    try {
      await Promise.race([listened, exited]);
      expect(stdout).toMatch(/1 package delta\(s\) served/);
      const url = resolveDeltaPath(running!.server.packageUrl('fw-2.0.0.bin'), delta!['path'] as string);
      const answer = await fetch(url);
      expect(answer.status).toBe(200);
      expect(sha256Hex(new Uint8Array(await answer.arrayBuffer()))).toBe(patchSha);
      expect((await fetch(url.replace(patchSha, 'f'.repeat(64)))).status).toBe(404);
    } finally {
      controller.abort();
      expect(await exited).toBe(0);
    }
  }, 60_000);

  it('usage problems exit 2', async () => {
    expect((await cli('release', 'sign', '--fleet', join(dir, 'f.json'), '--deltas', dir, '--keys', dir, '--out', dir)).code).toBe(2);
    expect((await cli('release', 'sign', '--images', dir, '--deltas', dir, '--delta-path', '/abs/', '--keys', dir, '--out', dir)).code).toBe(2);
    expect((await cli('release', 'sign', '--images', dir, '--deltas', dir, '--delta-path', 'deltas', '--keys', dir, '--out', dir)).code).toBe(2);
  });
});
