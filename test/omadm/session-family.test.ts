/**
 * The OMA DM family inside the agent (agent/omadm/family.ts: FUMO through the shared pipeline, the
 * hold, the image step and the outbox) against the reference server on the mock network: package
 * #0 arrives as a UDP datagram at the family's listener (port 2948), the server-initiated session
 * runs the script, the download waits in the hold at State 40, Exec Update releases it, the device
 * reboots into the new slot and commits it, and the server acknowledges both Generic Alerts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import { fumoDownload, fumoUpdate, get } from '../../server/omadm/index.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { CLIENT, type MockWorld, mockWorld, notification, SERVER, waitFor } from './session-rig.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function start(w: MockWorld): Promise<Agent> {
  const omadm = {
    accounts: [{ id: 'srv1', serverId: SERVER.serverId, addr: w.server.url, allowInsecure: w.server.url.startsWith('http:'), authPref: 'DIGEST', client: CLIENT, server: { name: SERVER.name, secret: SERVER.secret } }],
    udpPort: 2948,
    retries: 0,
    encoding: 'wbxml',
    schedule: { jitterMs: 0 },
  };
  return createAgent(w.hardware.device!, phoneBoard, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, omadm } as never);
}

describe('the OMA DM family against the reference server (mock HAL)', () => {
  it('UDP package #0 → session → FUMO through the shared pipeline: hold at 40 → Update → reboot → committed → both Generic Alerts acknowledged', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    let agent = await start(w);
    cleanups.push(() => agent.close());
    const client = () => (agent.families.get('omadm') as OmaDmFamily).client();
    const sender = await w.network.attach({ name: 'dm-server' }).udp!.bind({ port: 0 });
    cleanups.push(async () => sender.close());
    const push = async (sessionId: number) => {
      const ends = w.server.journal.of('end').length;
      await sender.send(notification(sessionId), { address: '127.0.0.1', port: 2948 });
      await waitFor(() => w.server.journal.of('end').length > ends);
      await client().router.receive(new Uint8Array(0)); // settles after the session and its FUMO work
      await agent.trigger('omadm', 'push');
    };

    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script([get('./DevInfo/DevId'), ...fumoDownload('1', facts.url, 'corr-dl', 'Download', facts)]);
    await push(0x71);
    // The server-initiated session, then the client-initiated one carrying the download's Generic Alert.
    expect(w.server.journal.of('session').map((x) => x.initiated)).toEqual(['server', 'client']);
    expect(w.server.journal.of('session')[0]).toMatchObject({ sessionId: '71' });
    expect(w.server.journal.statuses('71')).toEqual(['Get:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Exec:202']);
    expect(client().fumo.state('1')).toBe(40);
    expect(w.hardware.rebootRequests).toHaveLength(0);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', type: 'org.openmobilealliance.dm.firmwareupdate.download', result: 200 }]);

    w.server.script([fumoUpdate('1', 'corr-up')]);
    await push(0x72);
    expect(w.server.journal.statuses('72')).toEqual(['Exec:202']);
    expect(w.hardware.rebootRequests.length).toBeGreaterThanOrEqual(1);
    expect(client().fumo.state('1')).toBe(60);

    await agent.close();
    await w.reboot();
    agent = await start(w);
    await agent.trigger('omadm', 'boot');
    expect(client().fumo.state('1')).toBe(100);
    const status = await w.hardware.device!.update.status();
    expect(status).toMatchObject({ active: 'b', confirmed: true });
    expect(status.slots.find((s) => s.slot === 'b')).toMatchObject({ version: facts.version, sha256: facts.sha256 });
    expect(w.server.journal.genericAlerts().map((a) => `${a.correlator} ${a.type.split('.').at(-1)} ${a.result}`)).toEqual(['corr-dl download 200', 'corr-up update 200']);
    expect(client().fumo.pendingAlerts()).toEqual([]);
  });

  it('Exec DownloadAndUpdate runs through the hold: download, activate, reboot, commit, one Generic Alert', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    let agent = await start(w);
    cleanups.push(() => agent.close());
    const client = () => (agent.families.get('omadm') as OmaDmFamily).client();
    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script(fumoDownload('1', facts.url, 'corr-du', 'DownloadAndUpdate', facts));
    expect(await client().router.receive(notification(0x75))).toBe(true);
    await agent.trigger('omadm', 'push');
    expect(w.server.journal.statuses('75')).toEqual(['Replace:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Exec:202']);
    expect(w.hardware.rebootRequests.length).toBeGreaterThanOrEqual(1);
    expect(w.server.journal.genericAlerts()).toEqual([]); // nothing to report before the update is done

    await agent.close();
    await w.reboot();
    agent = await start(w);
    await agent.trigger('omadm', 'boot');
    expect(client().fumo.state('1')).toBe(100);
    expect(await w.hardware.device!.update.status()).toMatchObject({ active: 'b', confirmed: true });
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-du', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', result: 200 }]);
  });
});
