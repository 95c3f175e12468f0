/**
 * Jobs on the seam (agent/families/jobs.ts) with the pull-model family on the sim board (64 KiB
 * state store, package DB in its own pkgdb partition): a record this agent cannot read never
 * stops it, and a long package list converges without filling the state store with jobs.
 */
import { describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../../agent/index.ts';
import { DEFAULT_JOB_LIMITS } from '../../agent/families/jobs.ts';
import { putValue } from '../../agent/store/index.ts';
import { mockWorld, type MockWorld } from '../e2e/mock-rig.ts';

async function assign(world: MockWorld, deviceId: string, packages: { name: string; version?: string; remove?: boolean }[]): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(packages));
  const answer = await world.manager.handle({ method: 'PUT', url: `/api/devices/${deviceId}/packages`, headers: { 'content-type': 'application/json', authorization: `Bearer ${world.manager.adminToken}` }, body });
  if (answer.status !== 200) throw new Error(`assign failed: ${answer.status} ${new TextDecoder().decode(answer.body as Uint8Array)}`);
}

describe('job records the agent cannot read', () => {
  it('a job of another table version is set aside and reported; the agent starts and polls', async () => {
    const world = await mockWorld({ deviceIds: ['dev-v2'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: [{ name: 'app', version: '1.0.0', size: 4096 }] });
    try {
      const hardware = world.hardware('dev-v2');
      let agent = await world.agent(hardware);
      // What a newer agent would have left: the measured failure was exit 1, "version 2, expected 1".
      await putValue(agent.store, 'job/00000001/package', { table: 'pipeline', version: 99, state: 'downloading', context: { id: 'x' }, storeCount: 3 });
      await putValue(agent.store, 'job/00000002/teleport', { anything: true });
      await agent.close();
      hardware.reboot();
      agent = await world.agent(hardware);
      expect(agent.boot.setAsideJobs).toBe(2);
      expect(agent.store.keys('job/')).toEqual([]);
      expect(agent.store.keys('setAside/')).toHaveLength(2);
      expect(agent.info().families.find((f) => f.name === 'delivery')?.jobs.setAside).toBe(2);
      expect(hardware.logs.some((l) => l.level === 'error' && l.message.includes('set aside'))).toBe(true);
      const summary = await agent.pollOnce();
      expect(summary.installed).toEqual(['app@1.0.0']);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  });

  it('a record of the previous pipeline table version is migrated, not set aside', async () => {
    const world = await mockWorld({ deviceIds: ['dev-v1'], assignment: [], catalogue: [{ name: 'app', version: '1.0.0', size: 4096 }] });
    try {
      const hardware = world.hardware('dev-v1');
      let agent = await world.agent(hardware);
      const job = { id: '00000001-app@1.0.0', artifact: { name: 'app', version: '1.0.0', size: 4096, digest: '0'.repeat(64) }, sink: { kind: 'staging', name: 'job-00000001' }, announced: true, relocations: 0, corruptDownloads: 0, download: { ok: false, code: 'httpStatus', bytesTransferred: 0, attempts: 5 }, family: { action: 'install', optional: false, instruction: {} } };
      await putValue(agent.store, 'job/00000001/package', { table: 'pipeline', version: 1, state: 'abandoning', context: job, storeCount: 7 });
      await agent.close();
      hardware.reboot();
      agent = await world.agent(hardware);
      expect(agent.boot.setAsideJobs).toBe(0);
      const summary = await agent.pollOnce();
      expect(summary.failed.map((f) => f.name)).toEqual(['app']);
      expect(agent.store.keys('job/')).toEqual([]);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  });
});

describe('a long package list on the sim board', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `pkg-${String(i).padStart(5, '0')}`, version: '1.0.0', size: 64 }));

  it('49 new packages in one poll: installed in bounded batches, never a full store', async () => {
    const catalogue = many(49);
    const world = await mockWorld({ deviceIds: ['dev-49'], assignment: catalogue.map(({ name, version }) => ({ name, version })), catalogue });
    try {
      const agent = await world.agent(world.hardware('dev-49'));
      const summary = await agent.pollOnce();
      expect(summary.failed).toEqual([]);
      expect(summary.installed).toHaveLength(49);
      expect(agent.delivery!.db.list()).toHaveLength(49);
      expect(agent.store.keys('job/')).toEqual([]);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  }, 120_000);

  it('10 000 desired packages converge over successive polls (bounded jobs, the DB in its own pkgdb store), all can be removed, then new work runs', async () => {
    const catalogue = many(10_000);
    // One artifact file serves every catalogue entry (same bytes, own names): the set-up stays quick.
    const world = await mockWorld({
      deviceIds: ['dev-10k'],
      assignment: catalogue.map(({ name, version }) => ({ name, version })),
      catalogue: catalogue.slice(0, 1),
      mutate: (fleet) => {
        const first = fleet.packages['pkg-00000']['1.0.0'];
        for (const { name, version } of catalogue.slice(1)) fleet.packages[name] = { [version]: { ...first } };
      },
    });
    try {
      // Watches the job records at every job start: never more than the limit in flight.
      let agent: Awaited<ReturnType<MockWorld['agent']>> | undefined;
      let maxJobs = 0;
      let jobStarts = 0;
      const watch = { push: (event: DeliveryEvent) => event.kind === 'jobStart' && (jobStarts++, (maxJobs = Math.max(maxJobs, agent!.store.keys('job/').length))) } as unknown as DeliveryEvent[];
      agent = await world.agent(world.hardware('dev-10k'), {}, watch);
      const db = agent.delivery!.db;
      expect(db.store).not.toBe(agent.store); // the board's pkgdb partition
      const counts: number[] = [];
      for (let poll = 0; poll < 10 && db.list().length < 10_000; poll++) {
        const summary = await agent.pollOnce();
        expect(summary.failed).toEqual([]);
        counts.push(db.list().length);
        expect(summary.deferred ?? 0).toBe(10_000 - counts.at(-1)!);
      }
      expect(counts.at(-1)).toBe(10_000);
      expect(maxJobs).toBeGreaterThan(0);
      expect(maxJobs).toBeLessThanOrEqual(DEFAULT_JOB_LIMITS.maxJobs);
      expect(agent.store.keys('job/')).toEqual([]);
      // The job/state store stays small; the DB holds the 10 000 entries within its partition.
      const state = agent.store.stats();
      const pkgdb = db.store.stats();
      expect(state.liveBytes).toBeLessThan(state.areaLength * DEFAULT_JOB_LIMITS.maxStoreShare);
      expect(pkgdb.keys).toBe(10_000);
      expect(pkgdb.liveBytes).toBeLessThan(pkgdb.areaLength);
      console.log(`10 000 packages on the sim board: installed after each poll ${counts.join(' → ')}; ${jobStarts} jobs, at most ${maxJobs} in flight; state store ${state.liveBytes} of ${state.areaLength} bytes live, pkgdb ${pkgdb.liveBytes} of ${pkgdb.areaLength}`);

      // The manager removes every assignment: all go, with the same bounded jobs.
      await assign(world, 'dev-10k', catalogue.map(({ name }) => ({ name, remove: true })));
      for (let poll = 0; poll < 10 && db.list().length > 0; poll++) expect((await agent.pollOnce()).failed).toEqual([]);
      expect(db.list()).toEqual([]);
      expect(db.store.keys()).toEqual([]);
      expect(maxJobs).toBeLessThanOrEqual(DEFAULT_JOB_LIMITS.maxJobs);
      // And new work is possible again: the first five are assigned once more.
      await assign(world, 'dev-10k', catalogue.slice(5).map(({ name }) => ({ name, remove: true })));
      const after = await agent.pollOnce();
      expect(after.installed).toHaveLength(5);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  }, 900_000);
});
