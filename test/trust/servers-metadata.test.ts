/**
 * Every reference server serves the signed metadata next to its artifacts — the update service at
 * `<service>/metadata/` (both listeners, no sign-in: the signatures protect it), the DM server at
 * `/metadata/` — and the online-key refresher re-signs snapshot/timestamp when a release changes
 * targets and before the timestamp expires, and only then.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { parseJson } from '../../agent/trust/canonical-json.ts';
import { parseEnvelope, parseTimestamp } from '../../agent/trust/metadata.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { DmServer } from '../../server/omadm/server.ts';
import { startMetadataRefresher } from '../../server/metadata.ts';
import { makeFixture, type Fixture } from '../server/helpers.ts';
import { testService } from '../server/updates-fixture.ts';

let fixture: Fixture;
let keys: string;
let meta: string;
const quiet = { stdout: () => undefined, stderr: () => undefined };
const get = (url: string) => ({ method: 'GET', url, headers: {}, body: new Uint8Array() });

beforeAll(async () => {
  fixture = await makeFixture();
  keys = join(fixture.dir, 'keys');
  meta = join(fixture.dir, 'metadata');
  expect(await main(['keys', 'generate', '--out', keys], quiet)).toBe(0);
  expect(await main(['keys', 'root', '--keys', keys, '--out', meta], quiet)).toBe(0);
  expect(await main(['release', 'sign', '--fleet', fixture.fleetFile, '--keys', keys, '--out', meta], quiet)).toBe(0);
});
afterAll(async () => fixture.cleanup());

const timestampOf = async (dir: string) => parseTimestamp(parseEnvelope(parseJson(await readFile(join(dir, 'timestamp.json'))), 'timestamp').signed);

describe('reference servers serve signed metadata', () => {
  it('the update service: <service>/metadata/<file> on both listeners without credentials, role files only', async () => {
    const service = await testService({ metadataDir: meta } as never);
    const base = service.serviceUrls();
    for (const [zone, url] of [['internal', base.internal], ['external', base.external]] as const) {
      const answer = await service.handle(get(`${url}/metadata/timestamp.json`), { zone, tls: zone === 'external' });
      expect(answer.status, zone).toBe(200);
      expect(answer.body).toEqual(new Uint8Array(await readFile(join(meta, 'timestamp.json'))));
    }
    expect((await service.handle(get(`${base.internal}/metadata/..%2Fkeys%2Froot.key.json`), { zone: 'internal', tls: false })).status).toBe(404);
    // Without a metadata directory the route does not exist (and outside still asks for a sign-in).
    const plain = await testService();
    expect((await plain.handle(get(`${base.external}/metadata/timestamp.json`), { zone: 'external', tls: true })).status).toBe(401);
  });

  it('the DM server: /metadata/<file>', async () => {
    const engines = createJsEngines();
    const server = new DmServer({ serverId: 'srv1', md5: (b) => engines.hash('md5', b), tokenize: engines.syncmlTokenize, metadataDir: meta });
    const answer = await server.handle(get('/metadata/targets.json'));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(new Uint8Array(await readFile(join(meta, 'targets.json'))));
    expect((await server.handle(get('/metadata/keys.json'))).status).toBe(404);
  });

  it('the refresher re-signs on a new release and before expiry, not otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-refresh-'));
    try {
      expect(await main(['keys', 'root', '--keys', keys, '--out', dir], quiet)).toBe(0);
      expect(await main(['release', 'sign', '--fleet', fixture.fleetFile, '--keys', keys, '--out', dir], quiet)).toBe(0);
      let now = Date.now();
      const refreshed: number[] = [];
      const refresher = await startMetadataRefresher(dir, keys, { now: () => now, intervalMs: 3_600_000, onRefresh: (v) => refreshed.push(v) });
      try {
        const first = (await timestampOf(dir)).version;
        expect(refreshed).toEqual([first]); // at start
        expect(await refresher.check()).toBeUndefined(); // nothing changed, far from expiry
        expect(await main(['release', 'sign', '--fleet', fixture.fleetFile, '--keys', keys, '--out', dir], quiet)).toBe(0);
        const signed = (await timestampOf(dir)).version; // release sign refreshes too, with the keys it was given
        expect(await refresher.check()).toBe(signed + 1); // targets changed: devices see the release now
        now += 20 * 3_600_000; // the timestamp (a day) expires within the margin
        expect(await refresher.check()).toBe(signed + 2);
        expect((await timestampOf(dir)).expiresMs).toBeGreaterThan(now + 12 * 3_600_000);
      } finally {
        refresher.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
