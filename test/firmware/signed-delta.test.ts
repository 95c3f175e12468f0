/**
 * A firmware image offered as a delta by signed metadata alone (mock HAL, the reference update
 * service): the service's answer offers the full image only; the release signed the image with a
 * delta from the running version (`custom.deltas`, made with the real xdelta3 by the release
 * tooling's `withImageDeltas`, path `../deltas/<sha256>` next to the image URL). The phone picks
 * it for its active slot, fetches only the patch from the service (which serves the release's
 * patch folder by digest), applies it into the inactive slot, verifies the result against the
 * signed image digest, boots it and reports the delta. A running image that is not the source
 * falls back to the full image, reported.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { DeltaMaker } from '../../server/deltas.ts';
import { imageTargets, withImageDeltas } from '../../server/metadata.ts';
import type { ManifestImage } from '../../server/updates/manifest.ts';
import { TestRepo, sha256Hex } from '../trust/fixture.ts';
import { tempDir } from '../server/updates-fixture.ts';
import { trustConfig } from './trust-rig.ts';
import { FROM, MODEL, type Phone, TO, type UpdateWorld, updateWorld } from './rig.ts';

const SIZE = 10 * 1024;
const SOURCE = xorshiftBytes(SIZE, 21);
const TARGET = revisedBytes(SOURCE, SIZE, 22);
const CONFIG = { firmware: { idleRebootMs: 0, download: { checkpointBytes: 4096, checkpointMs: 0 } } };

let temp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  temp = await tempDir('dm-fw-signed-delta-');
});
afterAll(async () => temp.cleanup());

/** The release: both images signed, TO with a vcdiff from FROM; the service serves the release's patch folder. */
async function release(name: string): Promise<{ w: UpdateWorld; repo: TestRepo; patch: string }> {
  const images: ManifestImage[] = [];
  for (const [version, bytes] of [[FROM, SOURCE], [TO, TARGET]] as const) {
    const path = join(temp.dir, `${name}-${version}.bin`);
    await writeFile(path, bytes);
    images.push({ model: MODEL, version, path, size: bytes.length, sha256: sha256Hex(bytes) });
  }
  const folder = join(temp.dir, `${name}-deltas`);
  const specs = await withImageDeltas(imageTargets(images), images, new DeltaMaker({ dir: folder, formats: ['vcdiff'] }), '../deltas/');
  const signedTo = specs.find((s) => s.custom?.version === TO)!;
  expect(signedTo.custom?.deltas).toEqual([expect.objectContaining({ from: FROM, sourceSha256: sha256Hex(SOURCE), format: 'vcdiff' })]);
  expect(specs.find((s) => s.custom?.version === FROM)!.custom?.deltas).toBeUndefined(); // no patch from newer to older
  const repo = new TestRepo();
  repo.specs.push(...specs);
  repo.publish();
  // The service makes no deltas of its own (its answer offers the full image) but serves the release's patches.
  const served = new DeltaMaker({ dir: folder, formats: [] });
  expect(await served.index()).toBe(1);
  const w = await updateWorld({ source: SOURCE, image: TARGET, deltas: served });
  w.network.route('http://tuf.test', repo.handler());
  return { w, repo, patch: signedTo.custom!.deltas![0]!.sha256 };
}

/** Runs the update to its reported end (the reboot into the new image included). */
async function drive(w: UpdateWorld, start: Phone): Promise<Phone> {
  let phone = start;
  for (let round = 0; round < 10; round++) {
    const requests = phone.hardware.rebootRequests.length;
    await phone.agent.trigger('firmware', 'boot');
    if (!phone.agent.store.has('firmware/job') && phone.agent.outbox.pending('firmware').length === 0) break;
    if (phone.hardware.rebootRequests.length > requests) phone = await w.restart(phone);
  }
  return phone;
}

const requestsTo = (w: UpdateWorld, part: string, from: number) => w.network.requests.slice(from).filter((r) => r.url.includes(part)).length;
const report = (w: UpdateWorld) => (w.service.journal().find((e) => e.type === 'report') as { report: { outcome: string; delta?: Record<string, unknown> } } | undefined)?.report;

describe('firmware image as a delta named by signed metadata (mock HAL, reference update service, real xdelta3)', () => {
  it('only the signed patch goes over the link; the exact image boots; the report says the delta was applied', async () => {
    const { w, repo, patch } = await release('applied');
    try {
      const before = w.network.requests.length;
      const phone = await drive(w, await w.phone('signed-delta', { config: { ...CONFIG, ...trustConfig(repo) }, factory: SOURCE }));
      expect(sha256Hex(await phone.hardware.device!.update.readActive!(0, SIZE))).toBe(sha256Hex(TARGET));
      expect((await phone.agent.firmware!.info()).version).toBe(TO);
      expect(report(w)).toMatchObject({ outcome: 'installed', delta: { format: 'vcdiff', sourceVersion: FROM, outcome: 'applied', fullBytes: SIZE } });
      expect(requestsTo(w, `/ucupdates/v1/deltas/${patch}`, before)).toBeGreaterThan(0);
      expect(requestsTo(w, '/images/', before)).toBe(0);
      expect(await phone.hardware.device!.staging.list()).toEqual([]);
      await phone.agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);

  it('a running image that is not the signed source: no patch byte fetched, the full image, reported as fallen back', async () => {
    const { w, repo } = await release('wrong');
    try {
      const before = w.network.requests.length;
      const phone = await drive(w, await w.phone('signed-wrong', { config: { ...CONFIG, ...trustConfig(repo) }, factory: xorshiftBytes(SIZE, 5) }));
      expect(sha256Hex(await phone.hardware.device!.update.readActive!(0, SIZE))).toBe(sha256Hex(TARGET));
      expect(report(w)).toMatchObject({ outcome: 'installed', delta: { outcome: 'fellBack', code: 'sourceMismatch', patchBytes: 0 } });
      expect(requestsTo(w, '/deltas/', before)).toBe(0);
      expect(requestsTo(w, '/images/', before)).toBeGreaterThan(0);
      await phone.agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);
});
