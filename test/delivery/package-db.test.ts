/**
 * The package DB in its own store (agent/delivery/package-db.ts) when it really is full: a board
 * with a tiny pkgdb partition. No job starts that could not be recorded, the manager hears a
 * typed failure (packageDbFull) through the outbox, the agent never locks up, removals still go
 * and free room for the rest. And the hand-over "job final → DB write → job cleared" applied
 * again after a power cut between its steps.
 */
import { describe, expect, it } from 'vitest';
import { PackageDb, PackageDbFullError } from '../../agent/delivery/package-db.ts';
import { sim } from '../e2e/harness.ts';
import { mockWorld, type MockWorld } from '../e2e/mock-rig.ts';

const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `pkg-${String(i).padStart(3, '0')}`, version: '1.0.0', size: 64 }));
/** The sim board with a pkgdb partition of two 4 KiB blocks: a handful of entries. */
const tinyPkgdb = { ...sim, partitions: sim.partitions.map((p: { name: string }) => (p.name === 'pkgdb' ? { ...p, size: 8192 } : p)) };

async function request(world: MockWorld, method: string, url: string, body?: unknown): Promise<any> {
  const answer = await world.manager.handle({ method, url, headers: { 'content-type': 'application/json', authorization: `Bearer ${world.manager.adminToken}` }, body: body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body)) });
  if (answer.status !== 200) throw new Error(`${method} ${url}: ${answer.status}`);
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array));
}

describe('a full package DB (tiny pkgdb partition)', () => {
  it('refuses new installs with a typed report, never locks up, and removals free room for the next poll', async () => {
    const catalogue = many(40);
    const world = await mockWorld({ deviceIds: ['dev-full'], assignment: catalogue.map(({ name, version }) => ({ name, version })), catalogue, board: tinyPkgdb });
    try {
      const agent = await world.agent(world.hardware('dev-full'));
      const db = agent.delivery!.db;
      const first = await agent.pollOnce(); // a full DB is no failed poll
      const recorded = db.list().length;
      expect(recorded).toBeGreaterThan(0);
      expect(recorded).toBeLessThan(40);
      expect(first.installed).toHaveLength(recorded); // nothing installed that is not recorded
      expect(first.failed).toHaveLength(1);
      expect(first.failed[0]?.reason).toMatch(/package database full/);
      expect(agent.store.keys('job/')).toEqual([]);
      // The manager heard it as a typed failure, through the outbox (nothing left queued).
      const history = await request(world, 'GET', '/api/devices/dev-full/status');
      const refusals = (Array.isArray(history) ? history : history.status ?? history.history).filter((r: any) => r.error?.code === 'packageDbFull');
      expect(refusals).toHaveLength(1);
      expect(refusals[0].outcome).toBe('failure');
      expect(agent.outbox.pending('delivery')).toEqual([]);

      // A second poll changes nothing (no churn, no download), and is not a failed poll either.
      const installsBefore = world.runs.install.length;
      const again = await agent.pollOnce();
      expect(again.installed).toEqual([]);
      expect(world.runs.install.length).toBe(installsBefore);

      // The manager drops the installed ones: the removals go, and the rest fit after them.
      const installed = new Set(db.list().map((p) => p.name));
      await request(world, 'PUT', '/api/devices/dev-full/packages', catalogue.map(({ name, version }) => (installed.has(name) ? { name, remove: true } : { name, version })));
      const freed = await agent.pollOnce();
      expect(freed.removed.length).toBe(installed.size);
      // Installs come before removals in a poll (seed 000 order): the room is used by the next one.
      const next = await agent.pollOnce();
      expect(next.installed.length).toBeGreaterThan(0);
      expect(db.list().every((p) => !installed.has(p.name))).toBe(true);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  }, 120_000);

  it('a job left in its final state (power cut before the DB write) is recorded at the next boot, once', async () => {
    const world = await mockWorld({ deviceIds: ['dev-cut'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: [{ name: 'app', version: '1.0.0', size: 4096 }] });
    try {
      const hardware = world.hardware('dev-cut');
      let agent = await world.agent(hardware);
      // Cut the hand-over between step 1 (job final) and step 2 (DB write): the DB write fails once.
      const db = agent.delivery!.db;
      const record = db.record.bind(db);
      db.record = async () => {
        throw new Error('power cut (simulated between the job final state and the DB write)');
      };
      await expect(agent.pollOnce()).rejects.toThrow(/power cut/);
      db.record = record;
      expect(agent.store.keys('job/')).toHaveLength(1);
      expect(db.list()).toEqual([]);
      await agent.close();
      hardware.reboot();
      agent = await world.agent(hardware);
      expect(agent.delivery!.db.list().map((p) => p.name)).toEqual(['app']);
      expect(agent.store.keys('job/')).toEqual([]);
      const summary = await agent.pollOnce();
      expect(summary.installed).toEqual([]);
      expect(summary.kept).toBe(1);
      expect(world.runs.install).toHaveLength(1); // the post-install ran once
      await agent.close();
    } finally {
      await world.cleanup();
    }
  }, 120_000);

  it('PackageDb.record on a full store is a PackageDbFullError and the DB is unchanged', async () => {
    const world = await mockWorld({ deviceIds: ['dev-db'], board: tinyPkgdb });
    try {
      const agent = await world.agent(world.hardware('dev-db'));
      const db = new PackageDb(agent.delivery!.db.store);
      const entry = (i: number) => ({ name: `p${i}`, version: '1', digest: '0'.repeat(64), optional: false, installedUtcMs: 0, jobId: `j${i}` });
      let i = 0;
      let error: unknown;
      for (; i < 1000 && !error; i++) await db.record(entry(i)).catch((e: unknown) => (error = e));
      expect(error).toBeInstanceOf(PackageDbFullError);
      expect((error as PackageDbFullError).code).toBe('packageDbFull');
      expect(db.list()).toHaveLength(i - 1);
      await db.forget('p0'); // a delete always goes
      expect(db.get('p0')).toBeUndefined();
      await agent.close();
    } finally {
      await world.cleanup();
    }
  });
});
