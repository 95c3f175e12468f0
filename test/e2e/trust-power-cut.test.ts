/**
 * A power cut at every write and erase (mock HAL) of a signed install whose commit raises the
 * package's anti-rollback minimum: metadata refresh (root, roles and clock persisted), download,
 * post-install, the job's success with the raised minimum in one batch, the package DB entry.
 * At every boot the minimum is either unset or the version whose post-install succeeded — never
 * raised ahead of the install (a state that would refuse its reinstall) and never lost once the
 * job succeeded (a state that would accept a downgrade); after recovery the device converges.

 */
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/index.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { PowerCutError } from '../../hal/errors.ts';
import { fleetTargets } from '../../server/metadata.ts';
import { NOW, TestRepo } from '../trust/fixture.ts';
import { type MockWorld, mockWorld } from './mock-rig.ts';
import { sim } from './harness.ts';

const CATALOGUE = [{ name: 'app', version: '2.0.0', size: 6 * 1024 }];

const minimum = (agent: Agent) => new TrustState(agent.store).minimum('package', 'app');

async function scenario(world: MockWorld, repo: TestRepo, deviceId: string, cutAfter?: number) {
  const config = { trust: { root: utf8Decode(repo.rootBytes()), metadataUrl: 'http://tuf.test/metadata/' }, delivery: { download: { checkpointBytes: 4096, checkpointMs: 0 } } };
  const hardware = world.hardware(deviceId, { startUtcMs: NOW });
  if (cutAfter !== undefined) hardware.power.cutAfter(cutAfter);
  const installsBefore = world.runs.install.length;
  const succeeded = () => world.runs.install.slice(installsBefore).some((r) => r.name === 'app' && r.version === '2.0.0' && r.artifactOk);
  let agent: Agent | undefined;
  let cut = false;
  for (let boot = 0; boot < 4; boot++) {
    try {
      agent = await world.agent(hardware, config);
      // The invariant at every boot: a minimum only with a succeeded install of that version.
      const min = minimum(agent);
      if (min !== undefined) {
        expect(min, `cut ${cutAfter}`).toBe('2.0.0');
        expect(succeeded(), `cut ${cutAfter}: minimum raised before the post-install succeeded`).toBe(true);
      }
      for (let poll = 0; poll < 3 && agent.delivery!.db.list().length === 0; poll++) await agent.pollOnce();
      break;
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw error;
      cut = true;
      await agent?.close().catch(() => undefined);
      hardware.reboot();
      await hardware.booted;
    }
  }
  return { agent: agent!, cut, hardware };
}

describe('a signed install survives a power cut at every write (mock HAL)', () => {
  it('the minimum is raised with the job success, never ahead of it, never lost; the device converges', async () => {
    // The sim board without its 8 MiB package-DB partition (whose first format is a thousand erases): the DB lives in the state store.
    const board = { ...sim, partitions: sim.partitions.filter((p: { name: string }) => p.name !== 'pkgdb') };
    const world = await mockWorld({ deviceIds: [], assignment: [{ name: 'app', version: '2.0.0' }], catalogue: CATALOGUE, board });
    try {
      const repo = new TestRepo();
      repo.specs.push(...fleetTargets(world.fleet));
      repo.publish();
      world.network.route('http://tuf.test', repo.handler());
      const clean = await scenario(world, repo, 'pc-clean');
      expect(clean.cut).toBe(false);
      expect(clean.agent.delivery!.db.list().map((p) => `${p.name}@${p.version}`)).toEqual(['app@2.0.0']);
      expect(minimum(clean.agent)).toBe('2.0.0');
      const total = clean.hardware.power.operations;
      await clean.agent.close();
      let cuts = 0;
      for (let n = 1; n <= total; n++) {
        const run = await scenario(world, repo, `pc-${n}`, n);
        expect(run.cut, `cut point ${n} must interrupt the scenario`).toBe(true);
        cuts++;
        expect(run.agent.delivery!.db.list().map((p) => `${p.name}@${p.version}`), `cut ${n}`).toEqual(['app@2.0.0']);
        expect(minimum(run.agent), `cut ${n}`).toBe('2.0.0');
        expect(run.agent.boot.store.corruption, `cut ${n}`).toEqual([]);
        await run.agent.close();
      }
      console.log(`signed install power-cut test: ${cuts} of ${total} write/erase cut points`);
      expect(cuts).toBe(total);
    } finally {
      await world.cleanup();
    }
  }, 600_000);
});
