/**
 * A package upgrade delivered as a delta, end to end on the mock HAL: the reference manager makes
 * the patch with the real xdelta3 / bsdiff from the version the device reported installed, the
 * device (keeping its installed artifacts, `delivery.keepInstalled`) checks that artifact's digest
 * first, fetches the patch, applies it streaming into staging, verifies the result as the full
 * package, and the post-install gets the exact new bytes. Without a kept artifact the delta falls
 * back to the full package, reported. Power cut at every write and erase of the upgrade: it
 * converges, one post-install per job on the right bytes, the kept files never leak.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/index.ts';
import type { PipelineJob } from '../../agent/pipeline/runner.ts';
import { getValue } from '../../agent/store/index.ts';
import { PowerCutError } from '../../hal/errors.ts';
import type { MockHardware } from '../../hal/mock/index.ts';
import { DeltaMaker, type DeltaToolFormat } from '../../server/deltas.ts';
import { type MockWorld, mockWorld } from './mock-rig.ts';

const CATALOGUE = [
  { name: 'app', version: '1.0.0', size: 40 * 1024 },
  { name: 'app', version: '2.0.0', size: 44 * 1024, basedOn: '1.0.0' },
];
const V1 = [{ name: 'app', version: '1.0.0' }];
const V2 = [{ name: 'app', version: '2.0.0' }];
const KEEP = { delivery: { keepInstalled: true, download: { checkpointBytes: 16 * 1024, checkpointMs: 0 } } };

async function assign(world: MockWorld, deviceId: string, packages: typeof V2): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(packages));
  const answer = await world.manager.handle({ method: 'PUT', url: `/api/devices/${deviceId}/packages`, headers: { 'content-type': 'application/json', authorization: `Bearer ${world.manager.adminToken}` }, body });
  if (answer.status !== 200) throw new Error(`assign failed: ${answer.status}`);
}

async function statuses(world: MockWorld, deviceId: string): Promise<{ phase: string; name: string; version: string; bytes?: number; delta?: Record<string, unknown> }[]> {
  const answer = await world.manager.handle({ method: 'GET', url: `/api/devices/${deviceId}/status`, headers: { authorization: `Bearer ${world.manager.adminToken}` }, body: new Uint8Array() });
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array));
}

const listed = (agent: Agent) => agent.delivery!.db.list().map((p) => `${p.name}@${p.version}`);

async function converge(agent: Agent, want: string): Promise<void> {
  for (let poll = 0; poll < 4; poll++) {
    const summary = await agent.pollOnce();
    if (summary.failed.length === 0 && listed(agent).join() === want) return;
  }
}

const requests = (world: MockWorld, part: string, from: number) => world.network.requests.slice(from).filter((r) => r.url.includes(part)).length;

/** A world whose manager makes `format` patches, cached in a folder removed with the world. */
async function world(format: DeltaToolFormat, name: string): Promise<MockWorld> {
  const dir = await mkdtemp(join(tmpdir(), `dm-${name}-`));
  const w = await mockWorld({ deviceIds: [], assignment: V1, catalogue: CATALOGUE, deltas: new DeltaMaker({ dir, formats: [format] }) });
  return { ...w, cleanup: async () => Promise.all([w.cleanup(), rm(dir, { recursive: true, force: true })]).then(() => undefined) };
}

describe('package upgrade as a delta (mock HAL, reference manager with the real tools)', () => {
  for (const format of ['vcdiff', 'bsdiff'] as const) {
    it(`${format}: the kept 1.0.0 artifact plus the patch give 2.0.0; only the patch went over the link`, async () => {
      const w = await world(format, `deltas-${format}`);
      try {
        const hardware = w.hardware('dev');
        const agent = await w.agent(hardware, KEEP);
        await converge(agent, 'app@1.0.0');
        const kept = agent.delivery!.db.get('app')?.artifact;
        expect(kept).toMatch(/^job-\d+$/);
        await assign(w, 'dev', V2);
        const before = w.network.requests.length;
        await converge(agent, 'app@2.0.0');
        expect(listed(agent)).toEqual(['app@2.0.0']);
        expect(w.runs.install.at(-1)).toMatchObject({ name: 'app', version: '2.0.0', artifactOk: true });
        expect(requests(w, '/deltas/', before)).toBeGreaterThan(0);
        expect(requests(w, '/artifacts/app/2.0.0', before)).toBe(0);
        const end = (await statuses(w, 'dev')).find((s) => s.phase === 'downloadEnd' && s.version === '2.0.0');
        expect(end?.delta).toMatchObject({ format, sourceVersion: '1.0.0', outcome: 'applied', fullBytes: 44 * 1024 });
        const patchBytes = end!.delta!.patchBytes as number;
        expect(end?.bytes).toBe(patchBytes);
        expect(patchBytes).toBeLessThan((44 * 1024) / 4);
        // The new version's artifact is kept, the old one released; no patch left behind.
        const keptNow = agent.delivery!.db.get('app')?.artifact;
        expect(await hardware.device!.staging.list()).toEqual([keptNow]);
        console.log(`package delta (${format}): ${patchBytes} patch bytes for a ${44 * 1024}-byte package (${((1 - patchBytes / (44 * 1024)) * 100).toFixed(0)} % saved)`);
        await agent.close();
      } finally {
        await w.cleanup();
      }
    }, 60_000);
  }

  it('without a kept artifact the delta falls back to the full package, once, and says why', async () => {
    const w = await world('vcdiff', 'deltas-nokeep');
    try {
      const agent = await w.agent(w.hardware('plain'), { delivery: { download: { checkpointBytes: 16 * 1024, checkpointMs: 0 } } });
      await converge(agent, 'app@1.0.0');
      await assign(w, 'plain', V2);
      const before = w.network.requests.length;
      await converge(agent, 'app@2.0.0');
      expect(w.runs.install.at(-1)).toMatchObject({ version: '2.0.0', artifactOk: true });
      expect(requests(w, '/deltas/', before)).toBe(0);
      expect(requests(w, '/artifacts/app/2.0.0', before)).toBe(1);
      const end = (await statuses(w, 'plain')).find((s) => s.phase === 'downloadEnd' && s.version === '2.0.0');
      expect(end?.delta).toMatchObject({ outcome: 'fellBack', code: 'noSource', patchBytes: 0 });
      await agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);

  it('a power cut at every write and erase of a delta upgrade: converges, one post-install per job on the right bytes, no file leaks', async () => {
    const w = await world('vcdiff', 'deltas-cuts');
    try {
      const upgrade = async (deviceId: string, cutAfter?: number) => {
        const hardware: MockHardware = w.hardware(deviceId);
        let agent = await w.agent(hardware, KEEP);
        await converge(agent, 'app@1.0.0');
        await assign(w, deviceId, V2);
        const start = hardware.power.operations;
        if (cutAfter !== undefined) hardware.power.cutAfter(cutAfter);
        let cuts = 0;
        let inApply = 0;
        const installsBefore = w.runs.install.length;
        for (let round = 0; round < 6; round++) {
          try {
            await converge(agent, 'app@2.0.0');
            if (listed(agent).join() === 'app@2.0.0' && agent.outbox.pending('delivery').length === 0) break;
          } catch (error) {
            if (!(error instanceof PowerCutError)) throw error;
            cuts++;
            if (applying(agent)) inApply++;
            await agent.close().catch(() => undefined);
            for (;;) {
              try {
                hardware.reboot();
                await hardware.booted;
                agent = await w.agent(hardware, KEEP);
                break;
              } catch (bootError) {
                if (!(bootError instanceof PowerCutError)) throw bootError;
                cuts++;
              }
            }
            expect(agent.boot.store.corruption).toEqual([]);
          }
        }
        return { agent, hardware, cuts, inApply, operations: hardware.power.operations - start, runs: w.runs.install.slice(installsBefore) };
      };
      const clean = await upgrade('clean');
      expect(clean.cuts).toBe(0);
      await clean.agent.close();
      const total = clean.operations;
      let cuts = 0;
      let inApply = 0;
      let applied = 0;
      for (let n = 1; n <= total; n++) {
        const id = `cut-${n}`;
        const run = await upgrade(id, n);
        expect(run.cuts, `cut point ${n}`).toBe(1);
        cuts += run.cuts;
        inApply += run.inApply;
        expect(listed(run.agent), `cut ${n}`).toEqual(['app@2.0.0']);
        expect(run.runs.every((r) => r.artifactOk), `cut ${n}: a post-install ran on wrong bytes`).toBe(true);
        const perJob = new Map<string, number>();
        for (const r of run.runs) perJob.set(r.job, (perJob.get(r.job) ?? 0) + 1);
        expect([...perJob.values()].every((count) => count === 1), `cut ${n}: a post-install ran twice for one job`).toBe(true);
        // Only the installed version's kept artifact stays (a power cut may leave an old one until the next boot's sweep).
        run.hardware.reboot();
        await run.hardware.booted;
        await run.agent.close().catch(() => undefined);
        const after = await w.agent(run.hardware, KEEP);
        expect(await run.hardware.device!.staging.list(), `cut ${n}`).toEqual([after.delivery!.db.get('app')?.artifact]);
        const ends = (await statuses(w, id)).filter((s) => s.phase === 'downloadEnd' && s.version === '2.0.0');
        if (ends.some((s) => s.delta?.outcome === 'applied')) applied++;
        await after.close();
      }
      console.log(`package delta power-cut test: ${cuts} of ${total} write/erase cut points, ${inApply} of them during the apply (restarted); the delta applied in ${applied} of ${total} runs`);
      expect(cuts).toBe(total);
      expect(inApply).toBeGreaterThan(0);
      expect(applied).toBe(total);
    } finally {
      await w.cleanup();
    }
  }, 600_000);
});

/** The upgrade's delta is in its apply (persisted before the first write of the target). */
function applying(agent: Agent): boolean {
  for (const key of agent.store.keys('job/')) {
    const record = getValue<{ context: PipelineJob }>(agent.store, key);
    if (record?.context.delta?.phase === 'applying') return true;
  }
  return false;
}
