/**
 * FUMO with signed metadata (mock HAL, the reference DM server): the package must be
 * `images/<model>/<PkgVersion>` in signed targets before its download. A package that fails that
 * validation is reported with Generic Alert result 404 (FUMO 1.0: package validation/signature
 * failed), FUMO State 20, and nothing reaches the inactive slot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import { targetPath } from '../../agent/trust/artifact.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { fumoDownload } from '../../server/omadm/index.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { TestRepo } from '../trust/fixture.ts';
import { CLIENT, type MockWorld, mockWorld, notification, SERVER, waitFor } from './session-rig.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function start(w: MockWorld, repo: TestRepo): Promise<Agent> {
  const omadm = {
    accounts: [{ id: 'srv1', serverId: SERVER.serverId, addr: w.server.url, authPref: 'DIGEST', client: CLIENT, server: { name: SERVER.name, secret: SERVER.secret } }],
    udpPort: 2948,
    retries: 0,
    schedule: { jitterMs: 0 },
  };
  w.network.route('http://tuf.test', repo.handler());
  return createAgent(w.hardware.device!, phoneBoard, { engine: 'js', logLevel: 'error', trust: { root: utf8Decode(repo.rootBytes()), metadataUrl: 'http://tuf.test/metadata/' }, omadm } as never);
}

async function download(w: MockWorld, agent: Agent): Promise<OmaDmFamily> {
  const family = agent.families.get('omadm') as OmaDmFamily;
  const sender = await w.network.attach({ name: 'dm-server' }).udp!.bind({ port: 0 });
  cleanups.push(async () => sender.close());
  const facts = w.server.packageFacts('fw-2.0.bin');
  w.server.script([...fumoDownload('1', facts.url, 'corr-dl', 'Download', facts)]);
  const ends = w.server.journal.of('end').length;
  await sender.send(notification(0x51), { address: '127.0.0.1', port: 2948 });
  await waitFor(() => w.server.journal.of('end').length > ends);
  await family.client().router.receive(new Uint8Array(0));
  await agent.trigger('omadm', 'push');
  return family;
}

describe('FUMO with signed metadata (mock HAL)', () => {
  it('a package signed for this model downloads and waits at State 40 (alert 200)', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const facts = w.server.packageFacts('fw-2.0.bin');
    const repo = new TestRepo();
    repo.specs.push({ path: targetPath('image', 'Widget', facts.version), length: facts.size, sha256: facts.sha256, custom: { version: facts.version, hardware: ['Widget'] } });
    repo.publish();
    const agent = await start(w, repo);
    cleanups.push(() => agent.close());
    const family = await download(w, agent);
    expect(family.client().fumo.state('1')).toBe(40);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 200 }]);
  });

  it.each([
    ['not in the signed targets', (repo: TestRepo, facts: { version: string; size: number; sha256: string }) => void [repo, facts]],
    ['signed for another model', (repo: TestRepo, facts: { version: string; size: number; sha256: string }) =>
      void repo.specs.push({ path: targetPath('image', 'Widget', facts.version), length: facts.size, sha256: facts.sha256, custom: { version: facts.version, hardware: ['Gadget'] } })],
  ])('a package %s is refused: Generic Alert 404, State 20, the slot untouched', async (_name, sign) => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const repo = new TestRepo();
    sign(repo, w.server.packageFacts('fw-2.0.bin'));
    repo.publish();
    const agent = await start(w, repo);
    cleanups.push(() => agent.close());
    const before = await w.hardware.device!.update.status();
    const family = await download(w, agent);
    await waitFor(() => w.server.journal.genericAlerts().length > 0);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 404 }]);
    expect(family.client().fumo.state('1')).toBe(20);
    const status = await w.hardware.device!.update.status();
    expect(status.pending).toBeUndefined();
    expect(status.active).toBe(before.active);
    expect(w.hardware.rebootRequests).toEqual([]);
    expect(w.network.requests.filter((r) => r.url.includes('fw-2.0.bin'))).toEqual([]); // not even downloaded
  });
});
