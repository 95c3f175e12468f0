/**
 * FUMO packages as deltas named by signed metadata (mock HAL, the reference DM server making the
 * patches with the real xdelta3 / bsdiff): the package's signed target lists a delta from the
 * version the phone runs (`custom.deltas`); the trust gate picks it for the active slot, the
 * pipeline's delta step checks the running image's digest, fetches the patch from next to the
 * package URL (`/fumo/deltas/<sha256>`), applies it into the inactive slot and verifies the result
 * against the signed package digest. Fallbacks to the full package: a running image that is not
 * the delta's source (no patch byte fetched), a patch corrupted on the server, a signed patch that
 * builds something else. A power cut at every write of a delta update never leaves a half-applied
 * slot pending or booted.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import { decodeValue } from '../../agent/store/index.ts';
import { targetPath } from '../../agent/trust/artifact.ts';
import type { TargetDelta } from '../../agent/trust/target-deltas.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { programFactoryImage } from '../../cli/demo/delta.ts';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { DeltaMaker, type DeltaToolFormat } from '../../server/deltas.ts';
import { fumoDownload, fumoUpdate, replace } from '../../server/omadm/index.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { tempDir } from '../server/updates-fixture.ts';
import { TestRepo, sha256Hex } from '../trust/fixture.ts';
import { sweepFamilyCuts } from './family-cut-rig.ts';
import { type MockWorld, familySection, mockWorld, notification } from './session-rig.ts';

const SIZE = 8 * 1024;
const SOURCE = xorshiftBytes(SIZE, 11);
const TARGET = revisedBytes(SOURCE, SIZE, 12);
const RUNNING = '1.0.0'; // the phone's firmware version (session-rig's mock identity)
const PACKAGE = 'fw-2.0.bin';

let temp: { dir: string; cleanup(): Promise<void> };
const sourceFile = () => join(temp.dir, 'source.bin');
beforeAll(async () => {
  temp = await tempDir('dm-fumo-delta-');
  await writeFile(sourceFile(), SOURCE);
});
afterAll(async () => temp.cleanup());
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** The patch maker every world of one test shares (its cache folder), and the signed repository. */
interface Release {
  maker: DeltaMaker;
  repo: TestRepo;
  delta: TargetDelta;
}

/** A world with the package TARGET, the phone running `factory`, and the metadata at http://tuf.test. */
async function world(release: Pick<Release, 'maker'> & { repo?: TestRepo }, factory: Uint8Array = SOURCE): Promise<MockWorld> {
  const w = await mockWorld({ deltas: release.maker }, TARGET);
  await programFactoryImage(w.hardware.device!, factory);
  if (release.repo) w.network.route('http://tuf.test', release.repo.handler());
  return w;
}

/**
 * Signs the package with a delta from RUNNING made by the DM server's maker (`format`); `patch`
 * may replace the delta entry (a patch built from other bytes). The bootstrap world only makes it.
 */
async function release(name: string, format: DeltaToolFormat, patch?: (delta: TargetDelta) => Promise<TargetDelta>): Promise<Release> {
  const maker = new DeltaMaker({ dir: join(temp.dir, name), formats: [format] });
  const w = await world({ maker });
  try {
    const made = await w.server.packageDelta({ version: RUNNING, path: sourceFile(), size: SIZE, sha256: sha256Hex(SOURCE) }, PACKAGE, format);
    if (!made) throw new Error(`${format} made no delta`);
    const delta = patch ? await patch(made) : made;
    const facts = w.server.packageFacts(PACKAGE);
    const repo = new TestRepo();
    repo.specs.push({ path: targetPath('image', 'Widget', facts.version), length: facts.size, sha256: facts.sha256, custom: { version: facts.version, hardware: ['Widget'], deltas: [delta] } });
    repo.publish();
    return { maker, repo, delta };
  } finally {
    await w.cleanup();
  }
}

function config(w: MockWorld, repo: TestRepo): never {
  return { engine: 'js', logLevel: 'error', trust: { root: utf8Decode(repo.rootBytes()), metadataUrl: 'http://tuf.test/metadata/' }, omadm: familySection(w.server.url) } as never;
}

async function startAgent(w: MockWorld, repo: TestRepo): Promise<Agent> {
  const agent = await createAgent(w.hardware.device!, phoneBoard, config(w, repo));
  cleanups.push(() => agent.close());
  return agent;
}

/** The server's Exec Download (State 40 wanted), run to its Generic Alert. */
async function download(w: MockWorld, agent: Agent): Promise<OmaDmFamily> {
  const family = agent.families.get('omadm') as OmaDmFamily;
  const facts = w.server.packageFacts(PACKAGE);
  w.server.script([...fumoDownload('1', facts.url, 'corr-dl', 'Download', facts)]);
  await family.client().router.receive(notification(0x51));
  for (let round = 0; round < 10 && w.server.journal.genericAlerts().length === 0; round++) await agent.trigger('omadm', 'push');
  return family;
}

async function slotBytes(w: MockWorld, slot: string): Promise<Uint8Array> {
  const partition = await w.hardware.device!.flash.open({ partition: `slot_${slot}` });
  try {
    return await partition.read(0, SIZE);
  } finally {
    await partition.close();
  }
}

/** Downloads from URLs containing `part` (not the PkgURL probe that looks for a download descriptor). */
const requestsTo = (w: MockWorld, part: string) => w.network.requests.filter((r) => r.url.includes(part) && !(r.headers['accept'] ?? '').includes('vnd.oma.dd')).length;

describe('FUMO packages as deltas from signed metadata (mock HAL, reference DM server, real tools)', () => {
  it.each(['vcdiff', 'bsdiff'] as const)('a %s delta from the running version is applied into the inactive slot: the exact package, State 40, alert 200', async (format) => {
    const r = await release(`applied-${format}`, format);
    expect(r.delta).toMatchObject({ from: RUNNING, format, sourceSha256: sha256Hex(SOURCE), path: `deltas/${r.delta.sha256}` });
    expect(r.delta.length).toBeLessThan(SIZE / 2);
    const w = await world(r);
    cleanups.push(w.cleanup);
    const agent = await startAgent(w, r.repo);
    const family = await download(w, agent);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 200 }]);
    expect(family.client().fumo.state('1')).toBe(40);
    const { active } = await w.hardware.device!.update.status();
    expect(sha256Hex(await slotBytes(w, active === 'a' ? 'b' : 'a'))).toBe(sha256Hex(TARGET));
    expect(requestsTo(w, `/fumo/deltas/${r.delta.sha256}`)).toBeGreaterThan(0);
    expect(requestsTo(w, `/fumo/${PACKAGE}`)).toBe(0); // the full package never fetched
    expect(downloadRecordDelta(agent)).toMatchObject({ phase: 'applied', bytesTransferred: r.delta.length });
    console.log(`FUMO delta (${format}): ${r.delta.length} patch bytes for a ${SIZE}-byte package (${((1 - r.delta.length / SIZE) * 100).toFixed(0)} % saved)`);
  });

  it('the phone runs other bytes than the delta\'s source: no patch byte fetched, the full package instead (alert 200)', async () => {
    await fallsBack(await release('wrong-source', 'vcdiff'), { factory: xorshiftBytes(SIZE, 99), patchFetched: false, code: 'sourceMismatch' });
  });

  it('a patch corrupted on the server fails its signed digest: the full package instead', async () => {
    const r = await release('corrupt', 'vcdiff');
    const served = r.maker.byDigest(r.delta.sha256)!;
    const bytes = new Uint8Array(await readFile(served.path));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x5a;
    await writeFile(served.path, bytes);
    await fallsBack(r, { patchFetched: true, code: 'digestMismatch' });
  });

  it('a signed patch that builds other bytes than the signed package: the result check refuses it, the full package instead', async () => {
    // The release signed a patch to another image under this package's target.
    const r = await release('wrong-result', 'vcdiff', async (made) => {
      const other = join(temp.dir, 'other.bin');
      await writeFile(other, revisedBytes(SOURCE, SIZE, 77));
      const maker = new DeltaMaker({ dir: join(temp.dir, 'wrong-result'), formats: ['vcdiff'] });
      const wrong = await maker.make({ path: sourceFile(), size: SIZE, sha256: sha256Hex(SOURCE) }, { path: other, size: SIZE, sha256: sha256Hex(revisedBytes(SOURCE, SIZE, 77)) }, 'vcdiff');
      return { ...made, length: wrong!.size, sha256: wrong!.sha256, path: `deltas/${wrong!.sha256}` };
    });
    await r.maker.index(); // the wrong patch, made by another maker into the same folder, is served too
    await fallsBack(r, { patchFetched: true, code: 'digestMismatch' });
  });
});

/**
 * One Exec Download whose delta must fall back: alert 200, State 40, the full package fetched and
 * in the inactive slot, the delta's failure `code` kept; the patch fetched or not (a wrong source).
 */
async function fallsBack(r: Release, expected: { factory?: Uint8Array; patchFetched: boolean; code: string }): Promise<void> {
  const w = await world(r, expected.factory);
  cleanups.push(w.cleanup);
  const agent = await startAgent(w, r.repo);
  const family = await download(w, agent);
  expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 200 }]);
  expect(family.client().fumo.state('1')).toBe(40);
  expect(requestsTo(w, `/fumo/deltas/${r.delta.sha256}`) > 0).toBe(expected.patchFetched);
  expect(requestsTo(w, `/fumo/${PACKAGE}`)).toBeGreaterThan(0);
  expect(sha256Hex(await slotBytes(w, 'b'))).toBe(sha256Hex(TARGET));
  expect(downloadRecordDelta(agent)).toMatchObject({ phase: 'fellBack', failure: { code: expected.code } });
}

/** The FUMO download machine's persisted delta state (the job waits at State 40, its record kept). */
function downloadRecordDelta(agent: Agent): unknown {
  const raw = agent.store.get('omadm/job/download');
  if (!raw) return undefined;
  return (decodeValue('omadm/job/download', raw) as { context?: { delta?: unknown } }).context?.delta;
}

describe('a power cut at every write of a FUMO delta update (mock HAL)', () => {
  it('never a half-applied slot pending or booted; converges on the exact package, the update alert acknowledged once', async () => {
    const r = await release('cuts', 'vcdiff');
    let applying = 0;
    const { total, cuts, resends } = await sweepFamilyCuts(
      TARGET,
      (state, client, facts, session) => {
        if (state === 10 || state === 20) return [[replace({ uri: './FUMO/1/PkgName', data: 'fw' }), ...fumoDownload('1', facts.url, `corr-dl-${session}`, 'Download', facts)]];
        if (state === 40 && client.fumo.pendingAlerts().length === 0) return [[fumoUpdate('1', 'corr-up')]];
        return undefined;
      },
      {
        world: () => world(r),
        config: (w) => config(w, r.repo),
        // At every boot: a slot that is pending, or booted other than the factory one, holds exactly the package.
        onBoot: async (w, agent) => {
          const status = await w.hardware.device!.update.status();
          for (const slot of new Set([status.pending, status.active === 'a' ? undefined : status.active]))
            if (slot !== undefined) expect(sha256Hex(await slotBytes(w, slot)), `slot ${slot}`).toBe(sha256Hex(TARGET));
          if ((downloadRecordDelta(agent) as { phase?: string } | undefined)?.phase === 'applying') applying++;
        },
      },
    );
    console.log(`FUMO delta power-cut test: ${cuts} of ${total} write/erase/sync cut points; ${applying} boots found the apply interrupted; ${resends} Generic Alert resends recognised`);
    expect(cuts).toBe(total);
    expect(total).toBeGreaterThan(20);
    expect(applying).toBeGreaterThan(0);
  }, 900_000);
});
