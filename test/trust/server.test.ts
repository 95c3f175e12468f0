/**
 * The reference manager serves signed metadata next to the artifacts, and refreshes snapshot and
 * timestamp with only those two keys: a device fetching over real HTTP verifies the release and
 * the artifact bytes it then downloads.
 */
import { nodeTrustCrypto } from '../../hal/node/signatures.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { main } from '../../cli/main.ts';
import { readFleetFile } from '../../server/fleet.ts';
import { startServer, type RunningManager } from '../../server/http.ts';
import { readKey, refreshSnapshotAndTimestamp } from '../../server/metadata.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { refreshMetadata, resolveTarget } from '../../agent/trust/updater.ts';
import { checkArtifact, targetPath } from '../../agent/trust/artifact.ts';
import { makeFixture, type Fixture } from '../server/helpers.ts';
import { newMedium, sha256Hex } from './fixture.ts';

let fixture: Fixture;
let server: RunningManager;
const quiet = { stdout: () => undefined, stderr: () => undefined };

beforeAll(async () => {
  fixture = await makeFixture();
  const keys = join(fixture.dir, 'keys');
  const meta = join(fixture.dir, 'metadata');
  expect(await main(['keys', 'generate', '--out', keys], quiet)).toBe(0);
  expect(await main(['keys', 'root', '--keys', keys, '--out', meta], quiet)).toBe(0);
  expect(await main(['release', 'sign', '--fleet', fixture.fleetFile, '--keys', keys, '--out', meta], quiet)).toBe(0);
  server = await startServer({ fleet: await readFleetFile(fixture.fleetFile), metadataDir: meta, log: () => undefined });
});

afterAll(async () => {
  await server.close();
  await fixture.cleanup();
});

const httpSource = (base: string) => ({
  fetch: async (file: string, maxBytes: number) => {
    const answer = await fetch(`${base}/metadata/${file}`);
    if (answer.status === 404) return undefined;
    const bytes = new Uint8Array(await answer.arrayBuffer());
    if (bytes.length > maxBytes) throw new Error('too large');
    return bytes;
  },
});

describe('manager metadata routes', () => {
  it('a device verifies the release served next to the artifacts', async () => {
    const meta = join(fixture.dir, 'metadata');
    const state = new TrustState(await newMedium().open());
    await state.provision(new Uint8Array(readFileSync(join(meta, '1.root.json'))));
    const set = await refreshMetadata(state, httpSource(server.url), { rtcMs: Date.now() }, nodeTrustCrypto());
    const target = await resolveTarget(set, httpSource(server.url), targetPath('package', 'hello', '2.0.0'));
    const bytes = fixture.contents.get('hello@2.0.0')!;
    expect(() => checkArtifact(target!, { length: bytes.length, sha256: sha256Hex(bytes) })).not.toThrow();
    expect(target!.custom.postInstall).toEqual((fixture.fleet as { packages: { hello: Record<string, { postInstall: unknown }> } }).packages.hello['2.0.0']!.postInstall);

    // the server refreshes with its own two keys; the device follows
    const keys = join(fixture.dir, 'keys');
    await refreshSnapshotAndTimestamp(meta, { snapshot: await readKey(join(keys, 'snapshot.key.json')), timestamp: await readKey(join(keys, 'timestamp.key.json')) }, Date.now());
    const again = await refreshMetadata(state, httpSource(server.url), { rtcMs: Date.now() }, nodeTrustCrypto());
    expect(again.timestamp!.version).toBe(set.timestamp!.version + 1);
  });

  it('serves only role files', async () => {
    for (const path of ['/metadata/..%2Ffleet.json', '/metadata/keys', '/metadata/0.root.json', '/metadata/targets.json.tmp']) {
      expect([path, (await fetch(`${server.url}${path}`)).status]).toEqual([path, 404]);
    }
    expect((await fetch(`${server.url}/metadata/timestamp.json`)).headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${server.url}/metadata/timestamp.json`, { method: 'POST' })).status).toBe(405);
  });
});
