/**
 * Signed metadata end to end on the pull-model family (mock HAL, the reference manager in-process,
 * a TUF repository with real keys served over the mock network). The TUF attack list at the agent
 * level: each attack is refused with a `trust:<code>` status report to the manager and nothing is
 * installed on the device (no post-install run, no package DB entry, no staged bytes, no minimum
 * raised). The legitimate release installs, and its minimum is raised with the job's success.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/index.ts';
import type { TargetSpec } from '../../agent/trust/repository.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import type { MockHardware } from '../../hal/mock/index.ts';
import { fleetTargets } from '../../server/metadata.ts';
import { NOW, TestRepo, newKey } from '../trust/fixture.ts';
import { type MockWorld, mockWorld } from './mock-rig.ts';

const CATALOGUE = [
  { name: 'app', version: '1.0.0', size: 6 * 1024 },
  { name: 'app', version: '2.0.0', size: 7 * 1024 },
  { name: 'tool', version: '1.0.0', size: 5 * 1024 },
];
const IDS = Array.from({ length: 20 }, (_, i) => `t-${i}`);

let world: MockWorld;
beforeAll(async () => {
  world = await mockWorld({ deviceIds: IDS, assignment: [{ name: 'app', version: '1.0.0' }], catalogue: CATALOGUE });
});
afterAll(async () => world?.cleanup());

/** The fleet's packages as the release tooling signs them, for this device model. */
function signedFleet(filter: (spec: TargetSpec) => boolean = () => true, edit: (spec: TargetSpec) => TargetSpec = (s) => s): TargetSpec[] {
  return fleetTargets(world.fleet)
    .filter(filter)
    .map((spec) => edit({ ...spec, custom: { ...spec.custom, hardware: ['mock'] } }));
}

function repoWith(specs: TargetSpec[]): TestRepo {
  const repo = new TestRepo();
  repo.specs.push(...specs);
  repo.publish();
  return repo;
}

async function assign(deviceId: string, packages: { name: string; version: string }[]): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(packages));
  const answer = await world.manager.handle({ method: 'PUT', url: `/api/devices/${deviceId}/packages`, headers: { 'content-type': 'application/json', authorization: `Bearer ${world.manager.adminToken}` }, body });
  if (answer.status !== 200) throw new Error(`assign failed: ${answer.status}`);
}

async function statusReports(deviceId: string): Promise<{ name: string; version: string; phase: string; outcome: string; error?: { code: string; message: string } }[]> {
  const answer = await world.manager.handle({ method: 'GET', url: `/api/devices/${deviceId}/status`, headers: { authorization: `Bearer ${world.manager.adminToken}` }, body: new Uint8Array() });
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array));
}

let next = 0;
interface Device {
  id: string;
  hardware: MockHardware;
  agent: Agent;
  repo: TestRepo;
}

/** A device provisioned with `repo`'s root, whose metadata it reads from its own host. */
async function device(repo: TestRepo, assigned = [{ name: 'app', version: '1.0.0' }]): Promise<Device> {
  const id = IDS[next++]!;
  const host = `http://tuf-${id}.test`;
  world.network.route(host, repo.handler());
  await assign(id, assigned);
  const hardware = world.hardware(id, { startUtcMs: NOW });
  const agent = await world.agent(hardware, { trust: { root: utf8Decode(repo.rootBytes()), metadataUrl: `${host}/metadata/` } });
  return { id, hardware, agent, repo };
}

const installed = (d: Device) => d.agent.delivery!.db.list().map((p) => `${p.name}@${p.version}`);
const minimum = (d: Device, name: string) => new TrustState(d.agent.store).minimum('package', name);

/** One poll that must refuse `name@version` with `code`; nothing of it reaches the device. */
async function refusedPoll(d: Device, name: string, version: string, code: string): Promise<void> {
  const runsBefore = world.runs.install.length;
  const summary = await d.agent.pollOnce();
  expect(summary.failed.map((f) => `${f.name}@${f.version}`)).toContain(`${name}@${version}`);
  expect(summary.failed.find((f) => f.name === name)?.reason).toContain(code);
  expect(installed(d)).not.toContain(`${name}@${version}`);
  expect(world.runs.install.slice(runsBefore).filter((r) => r.name === name && r.version === version)).toEqual([]);
  expect([...d.hardware.staging.files.keys()]).toEqual([]);
  const reports = await statusReports(d.id);
  const failure = reports.find((r) => r.name === name && r.version === version && r.outcome === 'failure');
  expect(failure?.error?.code).toBe(code);
}

describe('signed metadata on the pull-model family', () => {
  it('installs a signed release, runs the signed command and raises the minimum with the job', async () => {
    const d = await device(repoWith(signedFleet()));
    const summary = await d.agent.pollOnce();
    expect(summary.installed).toEqual(['app@1.0.0']);
    expect(world.runs.install.filter((r) => r.name === 'app').at(-1)).toMatchObject({ artifactOk: true });
    expect(minimum(d, 'app')).toBe('1.0.0');
    // The accepted roles and the trusted clock are persisted, in the family's own repository.
    expect(d.agent.store.keys('trust/repo/delivery/').sort()).toEqual(['trust/repo/delivery/role/snapshot', 'trust/repo/delivery/role/targets', 'trust/repo/delivery/role/timestamp', 'trust/repo/delivery/root']);
    expect(d.agent.store.has('trust/clock')).toBe(true);
    await d.agent.close();
  });

  it('arbitrary package: one the targets do not name is refused', async () => {
    const d = await device(repoWith(signedFleet((s) => !s.path.startsWith('packages/tool/'))), [{ name: 'app', version: '1.0.0' }, { name: 'tool', version: '1.0.0' }]);
    await refusedPoll(d, 'tool', '1.0.0', 'trust:unknownTarget');
    expect(installed(d)).toEqual(['app@1.0.0']); // the signed one still installs
    expect(minimum(d, 'tool')).toBeUndefined();
    await d.agent.close();
  });

  it('the bytes are verified against the signed digest, not the manager\'s', async () => {
    const d = await device(repoWith(signedFleet(undefined, (s) => (s.path.startsWith('packages/app/') ? { ...s, sha256: 'ab'.repeat(32) } : s))));
    await refusedPoll(d, 'app', '1.0.0', 'digestMismatch');
    expect(minimum(d, 'app')).toBeUndefined();
    await d.agent.close();
  });

  it('endless data: the signed length caps the download', async () => {
    const d = await device(repoWith(signedFleet(undefined, (s) => (s.path.startsWith('packages/app/') ? { ...s, length: 1024 } : s))));
    await refusedPoll(d, 'app', '1.0.0', 'sizeMismatch');
    await d.agent.close();
  });

  it('downgrade: a version below the persisted minimum is refused unless signed allowDowngrade', async () => {
    const repo = repoWith(signedFleet());
    const d = await device(repo, [{ name: 'app', version: '2.0.0' }]);
    expect((await d.agent.pollOnce()).installed).toEqual(['app@2.0.0']);
    expect(installed(d)).toEqual(['app@2.0.0']);
    expect(minimum(d, 'app')).toBe('2.0.0');
    await assign(d.id, [{ name: 'app', version: '1.0.0' }]);
    await refusedPoll(d, 'app', '1.0.0', 'trust:downgrade');
    expect(installed(d)).toEqual(['app@2.0.0']);
    // The release explicitly signs the downgrade: now it goes through; the minimum stays.
    repo.specs.splice(0, repo.specs.length, ...signedFleet(undefined, (s) => (s.path === 'packages/app/1.0.0' ? { ...s, custom: { ...s.custom, allowDowngrade: true } } : s)));
    repo.publish();
    const summary = await d.agent.pollOnce();
    expect(summary.failed.map((f) => f.reason)).toEqual([]);
    expect(summary.upgraded).toEqual(['app@1.0.0']);
    expect(minimum(d, 'app')).toBe('2.0.0');
    await d.agent.close();
  });

  it('unsigned post-install command: the manager\'s differs from the signed one and never runs', async () => {
    const d = await device(repoWith(signedFleet(undefined, (s) => ({ ...s, custom: { ...s.custom, postInstall: { command: '/bin/true', args: [], timeoutMs: 1000 } } }))));
    await refusedPoll(d, 'app', '1.0.0', 'trust:unsignedCommand');
    await d.agent.close();
  });

  it('wrong hardware compatibility is refused', async () => {
    const d = await device(repoWith(signedFleet(undefined, (s) => ({ ...s, custom: { ...s.custom, hardware: ['other-board'] } }))));
    await refusedPoll(d, 'app', '1.0.0', 'trust:hardware');
    await d.agent.close();
  });

  it('freeze: an expired timestamp is refused', async () => {
    const repo = new TestRepo();
    repo.specs.push(...signedFleet());
    repo.expires.timestamp = NOW - 60_000;
    repo.publish();
    const d = await device(repo);
    await refusedPoll(d, 'app', '1.0.0', 'trust:expired');
    await d.agent.close();
  });

  it('metadata rollback: an older timestamp than the one the device saw is refused', async () => {
    const repo = repoWith(signedFleet((s) => !s.path.startsWith('packages/tool/')));
    const old = repo.copyFiles();
    repo.specs.push(...signedFleet((s) => s.path.startsWith('packages/tool/')));
    repo.publish();
    const d = await device(repo, [{ name: 'tool', version: '1.0.0' }]);
    expect((await d.agent.pollOnce()).installed.sort()).toEqual(['app@1.0.0', 'tool@1.0.0']);
    for (const [file, bytes] of old) repo.files.set(file, bytes); // the server replays last week's metadata
    await assign(d.id, [{ name: 'tool', version: '1.0.0' }, { name: 'app', version: '2.0.0' }]);
    await refusedPoll(d, 'app', '2.0.0', 'trust:rollback');
    await d.agent.close();
  });

  it('mix-and-match: a snapshot the timestamp does not name is refused', async () => {
    const repo = repoWith(signedFleet());
    const other = repoWith([]);
    repo.files.set('snapshot.json', other.files.get('snapshot.json')!);
    const d = await device(repo);
    await refusedPoll(d, 'app', '1.0.0', 'trust:hashMismatch');
    await d.agent.close();
  });

  it('key compromise below threshold: targets signed by 1 of 2 keys are refused', async () => {
    const repo = new TestRepo();
    repo.keys.targets = [newKey(), newKey()];
    repo.thresholds.targets = 2;
    repo.rotateRoot(); // root v2 names both targets keys, threshold 2
    repo.specs.push(...signedFleet());
    repo.publish({ targets: [repo.keys.targets[0]!] });
    const d = await device(repo);
    await refusedPoll(d, 'app', '1.0.0', 'trust:badSignature');
    await d.agent.close();
  });

  it('rotated-out keys: targets signed by the old targets key are refused after the rotation', async () => {
    const repo = new TestRepo();
    const oldTargets = repo.keys.targets;
    repo.rotateRoot({ targets: [newKey()] });
    repo.specs.push(...signedFleet());
    repo.publish({ targets: oldTargets });
    const d = await device(repo);
    await refusedPoll(d, 'app', '1.0.0', 'trust:badSignature');
    await d.agent.close();
  });
});
