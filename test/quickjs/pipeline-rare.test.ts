/**
 * The pipeline's rare paths (agent/pipeline/runner-rare.ts: failed downloads, retries, interrupted
 * installs), setting an unreadable job record aside (agent/families/set-aside.ts) and the pull-model
 * family's job limits (agent/families/job-limits.ts) stay out of what the image families load:
 * checked on the build's module graph, and inside QuickJS, where a firmware update that downloads
 * as planned never loads the rare chunk, and one whose image arrives corrupt loads it, downloads
 * once more, gives up, reports and leaves no pending image.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Metafile } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { agentChunks } from '../support/agent-chunks.ts';
import { watchGuestModules } from '../support/guest-modules.ts';
import { bootPhone, small } from './phone.ts';
import { Users, startUpdateServer } from '../../server/updates/index.ts';
import { ADMIN_TOKEN, usersJson, writeImageFolder } from '../server/updates-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

const RARE = 'agent/pipeline/runner-rare.ts';
const meta = JSON.parse(readFileSync(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
const rareChunk = Object.keys(meta.outputs).find((output) => output.endsWith('.js') && RARE in meta.outputs[output]!.inputs)!.replace(/^dist\//, '');

describe('the pipeline loads its rare paths only when a job leaves the planned path', () => {
  it('the rare paths and set-aside are lazy chunks; the job limits are the pull-model family’s alone', async () => {
    const { staticSources, familySources, lazyEntries } = await agentChunks();
    for (const lazy of [RARE, 'agent/families/set-aside.ts']) {
      expect(lazyEntries.has(lazy), lazy).toBe(true);
      expect(staticSources.has(lazy), lazy).toBe(false);
    }
    expect(familySources.delivery!.has('agent/families/job-limits.ts')).toBe(true);
    for (const family of ['firmware', 'omadm']) {
      expect(familySources[family]!.has('agent/pipeline/runner.ts'), family).toBe(true);
      expect(familySources[family]!.has('agent/families/job-limits.ts'), family).toBe(false);
    }
  });

  /** A firmware check inside QuickJS against the update service; `corrupt`: the served image has one byte changed. */
  async function firmwareCheck(corrupt: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-rare-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bytes = new Uint8Array(24 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
    const { folder } = await writeImageFolder(dir, 'cab', [{ model: 'CX600', version: '4.1.0', from: ['4.0.1'], bytes }]);
    const server = await startUpdateServer({ adminToken: ADMIN_TOKEN, users: Users.parse(await usersJson()), internal: {}, importFolders: [folder] });
    cleanups.push(() => server.close());
    server.service.decide(server.service.rules()[0]!.id, 'approved');
    // Served in place from the import folder: the same length, one byte off (the digest was taken at import).
    if (corrupt) await writeFile(join(folder, 'CX600-4.1.0.img'), bytes.map((b, i) => (i === 5000 ? b ^ 0x40 : b)));
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: server.service.serviceUrls(), allowInsecure: true, idleRebootMs: 0 } };
    const requested = await watchGuestModules(cleanups);
    const { phone, host } = await bootPhone(join(dir, 'phone'), { deviceId: 'qjs-rare', model: 'CX600', hardwareId: 'hw-1', firmwareVersion: '4.0.1' }, cleanups);
    const agent = await host.start(phone, small, config);
    await host.guarded(agent.trigger('firmware', 'boot')).catch(() => undefined);
    const last = (await host.guarded(agent.firmware()))?.last;
    const status = await phone.update.status();
    await host.guarded(agent.close());
    const downloads = server.service.journal().filter((e) => e.type === 'download').length;
    const reports = server.service.journal().filter((e) => e.type === 'report');
    return { rareLoaded: requested.includes(rareChunk), last, status, downloads, reports };
  }

  it('a firmware update that downloads as planned does not load the rare chunk', async () => {
    const { rareLoaded, last, status } = await firmwareCheck(false);
    expect(last?.check).toBe('update');
    expect(status).toMatchObject({ pending: 'b' });
    expect(rareLoaded).toBe(false);
  }, 120_000);

  it('a corrupt image loads it inside QuickJS: downloaded again once, then given up and reported, no image left pending', async () => {
    const { rareLoaded, status, downloads, reports } = await firmwareCheck(true);
    expect(rareLoaded).toBe(true);
    expect(status.pending).toBeUndefined();
    // The image family retries a corrupt download once (corruptRetries: 1).
    expect(downloads).toBe(2);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ report: { outcome: 'failed', detail: expect.stringMatching(/digest does not match/) } });
  }, 120_000);
});
