/**
 * The key-handling and release commands end to end: generate keys, sign a root, sign a fleet and
 * an image folder, verify with `dm-agent trust verify` (the device's code) and with tuf-js; a
 * tampered file and a rotation without the old root key are refused. `release sign --deltas`:
 * a patch (the real xdelta3) from every older version of a model is signed next to the image;
 * `delta apply` rebuilds the image with it and `omadm-server --deltas DIR` serves it where the
 * signed path leads from the package URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { Updater } from 'tuf-js';
import { main } from '../../cli/main.ts';
import { writeDemoFleet } from '../../cli/demo/fixture.ts';
import { MANIFEST_FORMAT } from '../../server/updates/manifest.ts';
import { run as omadmServer } from '../../cli/commands/omadm-server.ts';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { resolveDeltaPath } from '../../agent/trust/target-deltas.ts';
import type { RunningDmServer } from '../../server/omadm/index.ts';
import { sha256Hex } from './fixture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trust-cli-'));
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

describe('dm-agent keys / release / trust', () => {
  it('generates keys (0600, secrets never printed), signs a root and a release, verifies it', async () => {
    const keys = join(dir, 'keys');
    const meta = join(dir, 'metadata');
    const gen = await cli('keys', 'generate', '--out', keys, '--type', 'ecdsa');
    expect(gen).toMatchObject({ code: 0, stderr: '' });
    for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
      const file = join(keys, `${role}.key.json`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const secret = (JSON.parse(await readFile(file, 'utf8')) as { secret: string }).secret;
      expect(gen.stdout).not.toContain(secret);
    }
    expect((await cli('keys', 'generate', '--out', keys)).code).toBe(1); // never overwrites a key
    expect(await cli('keys', 'root', '--keys', keys, '--out', meta)).toMatchObject({ code: 0 });

    const fleetDir = join(dir, 'fleet');
    await mkdir(fleetDir, { recursive: true });
    await writeFile(join(fleetDir, 'fleet.json'), JSON.stringify(await writeDemoFleet(fleetDir, join(dir, 'installed'), ['dev-1'])));
    const images = join(dir, 'images');
    await mkdir(images, { recursive: true });
    await writeFile(join(images, 'fw.img'), 'firmware image bytes');
    await writeFile(join(images, 'manifest.json'), JSON.stringify({ format: MANIFEST_FORMAT, images: [{ model: 'CX600', version: '4.0.7577.4100', file: 'fw.img' }] }));
    const signed = await cli('release', 'sign', '--fleet', join(fleetDir, 'fleet.json'), '--images', images, '--keys', keys, '--out', meta);
    expect(signed).toMatchObject({ code: 0, stderr: '' });
    expect(signed.stdout).toMatch(/version 1, \d+ target\(s\)/);

    const targets = JSON.parse(await readFile(join(meta, 'targets.json'), 'utf8')) as { signed: { targets: Record<string, { custom: Record<string, unknown> }> } };
    expect(targets.signed.targets['images/CX600/4.0.7577.4100']?.custom).toEqual({ version: '4.0.7577.4100', hardware: ['CX600'] });
    expect(Object.values(targets.signed.targets).some((t) => typeof t.custom['postInstall'] === 'object')).toBe(true);

    const verified = await cli('trust', 'verify', meta);
    expect(verified).toMatchObject({ code: 0, stderr: '' });
    expect(verified.stdout).toMatch(/targets +version 1/);
    expect(verified.stdout).toMatch(/verified\n$/);

    // tuf-js accepts what the tooling produced
    const server = await serve(meta);
    try {
      const client = join(dir, 'tufjs');
      await mkdir(client, { recursive: true });
      await cp(join(meta, '1.root.json'), join(client, 'root.json'));
      const updater = new Updater({ metadataDir: client, metadataBaseUrl: server.url, config: { fetchRetries: 0 } });
      await updater.refresh();
      expect((await updater.getTargetInfo('images/CX600/4.0.7577.4100'))?.length).toBe('firmware image bytes'.length);
    } finally {
      await new Promise((resolve) => server.server.close(resolve));
    }

    // a rotation signed only by the new root key: devices on root 1 refuse it
    const newKeys = join(dir, 'keys2');
    await cli('keys', 'generate', '--out', newKeys, '--roles', 'root');
    for (const role of ['targets', 'snapshot', 'timestamp']) await cp(join(keys, `${role}.key.json`), join(newKeys, `${role}.key.json`));
    const unsafe = join(dir, 'meta-unsafe');
    await cp(meta, unsafe, { recursive: true });
    await cli('keys', 'root', '--keys', newKeys, '--out', unsafe);
    const refused = await cli('trust', 'verify', unsafe);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused \(badSignature\)/);
    // signed with the old root key too: accepted
    expect((await cli('keys', 'root', '--keys', newKeys, '--out', meta, '--sign-with', join(keys, 'root.key.json'))).code).toBe(0);
    expect((await cli('trust', 'verify', meta)).stdout).toMatch(/root +version 2/);

    // tampering with the signed targets is refused
    const text = await readFile(join(meta, 'targets.json'), 'utf8');
    await writeFile(join(meta, 'targets.json'), text.replace('"CX600"', '"CX601"'));
    const tampered = await cli('trust', 'verify', meta);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/refused \(hashMismatch\)|refused \(badSignature\)/);
  });

  it('usage problems exit 2 with the usage line', async () => {
    expect((await cli('keys', 'frobnicate', '--out', dir)).code).toBe(2);
    expect((await cli('release', 'sign', '--keys', dir)).code).toBe(2);
    expect((await cli('trust', 'verify')).code).toBe(2);
    expect((await cli('trust', 'verify', join(dir, 'nowhere'))).code).toBe(2);
  });
});

const OLD = xorshiftBytes(16 * 1024, 31);
const NEW = revisedBytes(OLD, 16 * 1024, 32);

describe('dm-agent release sign --deltas', () => {
  it('signs a patch from the older version, that the DM server serves next to the package and that rebuilds the image', async () => {
    const keys = join(dir, 'delta-keys');
    const meta = join(dir, 'delta-metadata');
    const deltas = join(dir, 'deltas');
    expect((await cli('keys', 'generate', '--out', keys)).code).toBe(0);
    expect((await cli('keys', 'root', '--keys', keys, '--out', meta)).code).toBe(0);
    const images = join(dir, 'delta-images');
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

async function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    readFile(join(root, (req.url ?? '/').slice(1).replace(/\.\./g, ''))).then(
      (bytes) => res.writeHead(200).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}
