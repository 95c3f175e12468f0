/**
 * Jobs on the seam (agent/families/jobs.ts) with the pull-model family on the sim board (64 KiB
 * state store): a record this agent cannot read never stops it, and a long package list can no
 * longer fill the store with jobs and lock the agent up for good.
 */
import { describe, expect, it } from 'vitest';
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

  it('10 000 desired packages: every poll succeeds, progress stops at the store budget, and removing the assignments still works', async () => {
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
      const agent = await world.agent(world.hardware('dev-10k'));
      const counts: number[] = [];
      for (let poll = 0; poll < 3; poll++) {
        const summary = await agent.pollOnce(); // never throws "store state is full"
        expect(summary.failed).toEqual([]);
        counts.push(agent.delivery!.db.list().length);
        expect(summary.deferred).toBe(10_000 - counts.at(-1)!);
      }
      // Converged: as many as the store budget holds, then a steady state (no lock-up, no churn).
      expect(counts[0]).toBeGreaterThan(20);
      expect(counts.at(-1)).toBe(counts.at(-2));
      const stats = agent.store.stats();
      expect(stats.liveBytes).toBeLessThan(stats.areaLength);
      console.log(`10 000 packages on the sim board: installed per poll ${counts.join(' → ')}, store ${stats.liveBytes} of ${stats.areaLength} bytes live`);

      // The manager removes every assignment: the full store still lets them go.
      await assign(world, 'dev-10k', catalogue.map(({ name }) => ({ name, remove: true })));
      for (let poll = 0; poll < 3 && agent.delivery!.db.list().length > 0; poll++) await agent.pollOnce();
      expect(agent.delivery!.db.list()).toEqual([]);
      // And new work is possible again.
      await assign(world, 'dev-10k', catalogue.slice(5).map(({ name }) => ({ name, remove: true })));
      const after = await agent.pollOnce();
      expect(after.installed).toHaveLength(5);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  }, 300_000);
});
