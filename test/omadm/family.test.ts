/**
 * The OMA DM family in the agent on the mock HAL: a client-initiated session gets Exec Download
 * (202), the package goes through the shared pipeline into the inactive slot and waits in the hold
 * (State 40, Generic Alert "download" 200); Exec Update (202, State 60) releases it, the device
 * reboots into the new slot, the trial boot is committed, State 100, and the Generic Alert "update"
 * 200 is acknowledged by the server.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/index.ts';
import { buildNotification } from '../../agent/omadm/notification.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import type { Alert, Command, Status } from '../../agent/syncml/model.ts';
import { MockHardware, VirtualClock, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork } from '../../hal/mock/net.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { type Exchange, message, type Reply, ScriptedServer, serverHeader, statusesFor, text } from './fake-server.ts';

const FROM = '1.0.0';
const TO = '2.0.0';
const image = new Uint8Array(20 * 1024).map((_, i) => (i * 13 + 5) & 0xff);
const sha256 = createHash('sha256').update(image).digest('hex');

const replace = (id: string, uri: string, data: string): Command => ({ cmd: 'Replace', cmdID: id, items: [{ target: { locURI: uri }, data }] });
const exec = (id: string, uri: string, correlator: string): Command => ({ cmd: 'Exec', cmdID: id, correlator, items: [{ target: { locURI: uri } }] });

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('omadm family on the agent (mock HAL)', () => {
  it('Exec Download → hold (40) → Exec Update → reboot → committed (100), both Generic Alerts acknowledged', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
    const network = createMockNetwork({ clock: clock.scope().clock, chunkSize: 4096 });
    network.route('http://fw.test', async (request) => {
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      const from = range ? Number(range[1]) : 0;
      return { status: range ? 206 : 200, headers: { 'content-type': 'application/octet-stream', ...(range ? { 'content-range': `bytes ${from}-${image.length - 1}/${image.length}` } : {}) }, body: image.slice(from) };
    });
    const plans: Command[][] = [
      [
        replace('2', './FUMO/1/Download/PkgURL', 'http://fw.test/pkg.bin'),
        replace('3', './FUMO/1/PkgVersion', TO),
        replace('4', './FUMO/1/Ext/Size', String(image.length)),
        replace('5', './FUMO/1/Ext/SHA256', sha256),
        exec('6', './FUMO/1/Download', 'dl-1'),
      ],
      [],
      [exec('2', './FUMO/1/Update', 'up-1')],
    ];
    let session = -1;
    const alerts: Alert[] = [];
    const statuses: string[] = [];
    const dm = new ScriptedServer((ex: Exchange): Reply => {
      const first = ex.message.body.commands.some((c) => c.cmd === 'Alert' && ['1200', '1201'].includes(text(c.data) ?? ''));
      if (first) session++;
      alerts.push(...ex.message.body.commands.filter((c): c is Alert => c.cmd === 'Alert' && text(c.data) === '1226'));
      statuses.push(...ex.message.body.commands.filter((c): c is Status => c.cmd === 'Status' && c.cmdRef !== '0').map((s) => `${s.refCmd}:${text(s.data)}`));
      return { message: message(serverHeader(ex.message, first ? 1 : 2), [...statusesFor(ex.message), ...(first ? (plans[session] ?? []) : [])]) };
    });
    network.route('https://dm.test', dm.handler);

    const hardware = new MockHardware({ ...mockOptionsFromBoard(phoneBoard), clock, network, identity: { deviceId: 'dev-1', model: 'M1', hardwareId: 'hw-1', firmwareVersion: FROM } });
    hardware.boot();
    await hardware.booted;
    const config = {
      omadm: {
        accounts: [{ id: 'srv1', serverId: 'srv1', addr: 'https://dm.test/dm', authPref: 'DIGEST', client: { name: 'dev-1', secret: 'c-secret' }, server: { name: 'srv1', secret: 's-secret' } }],
        udpPort: 0,
        retries: 0,
        schedule: { jitterMs: 0 },
      },
    };
    const start = async () => createAgent(hardware.device!, phoneBoard, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, ...config } as never);
    let agent = await start();
    cleanup = async () => void (await agent.close().catch(() => undefined));
    const fumoState = () => (agent.families.get('omadm') as OmaDmFamily).client().fumo.state('1');

    await agent.trigger('omadm', 'manual');
    expect(statuses.slice(0, 5)).toEqual(['Replace:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Exec:202']);
    expect(fumoState()).toBe(40);
    expect(network.requests.some((r) => r.url === 'http://fw.test/pkg.bin')).toBe(true);

    await agent.trigger('omadm', 'manual');
    expect(alerts.map((a) => `${a.correlator} ${a.items?.[0]?.meta?.type} ${text(a.items?.[0]?.data)}`)).toEqual(['dl-1 org.openmobilealliance.dm.firmwareupdate.download 200']);
    expect(statuses).toContain('Exec:202');
    expect(hardware.rebootRequests.length).toBe(1);

    await agent.close();
    hardware.reboot();
    await hardware.booted;
    agent = await start();
    expect(fumoState()).toBe(60);
    await agent.trigger('omadm', 'boot');
    expect(fumoState()).toBe(100);
    expect(alerts.at(-1)).toMatchObject({ correlator: 'up-1', items: [{ source: { locURI: './FUMO/1' }, meta: { type: 'org.openmobilealliance.dm.firmwareupdate.update' }, data: '200' }] });
    const status = await hardware.device!.update.status();
    expect(status.slots.find((s) => s.slot === status.active)?.version).toBe(TO);
    expect(status.confirmed).toBe(true);
    expect((agent.families.get('omadm') as OmaDmFamily).client().fumo.pendingAlerts()).toHaveLength(0);
  });

  it('package #0 over UDP starts a server-initiated session (Alert 1200, the notification\'s SessionID); a forged one does not', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
    const network = createMockNetwork({ clock: clock.scope().clock });
    const dm = new ScriptedServer((ex) => ({ message: message(serverHeader(ex.message, 1), statusesFor(ex.message)) }));
    network.route('https://dm.test', dm.handler);
    const hardware = new MockHardware({ ...mockOptionsFromBoard(phoneBoard), clock, network, identity: { deviceId: 'dev-2', model: 'M1', hardwareId: 'hw-2', firmwareVersion: FROM } });
    hardware.boot();
    await hardware.booted;
    const account = { id: 'srv1', serverId: 'srv1', addr: 'https://dm.test/dm', authPref: 'DIGEST', client: { name: 'dev-2', secret: 'c' }, server: { name: 'srv1', secret: 's', nonce: 'n0' } };
    const agent = await createAgent(hardware.device!, phoneBoard, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, omadm: { accounts: [account], retries: 0 } } as never);
    cleanup = async () => void (await agent.close().catch(() => undefined));
    const sender = await network.attach({ name: 'server' }).udp!.bind({ port: 0 });
    const md5 = (b: Uint8Array) => new Uint8Array(createHash('md5').update(b).digest());
    const cred = { name: 'srv1', secret: 's', nonce: new TextEncoder().encode('n0') };
    await sender.send(buildNotification(md5, { sessionId: 0xbeef, serverId: 'srv1' }, { ...cred, secret: 'wrong' }), { address: '127.0.0.1', port: 2948 });
    await sender.send(buildNotification(md5, { sessionId: 0xbeef, serverId: 'srv1' }, cred), { address: '127.0.0.1', port: 2948 });
    for (let i = 0; i < 200 && dm.log.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(dm.log).toHaveLength(1);
    expect(dm.log[0]?.message.hdr?.sessionID).toBe('BEEF');
    expect(dm.log[0]?.message.body.commands.map((c) => (c.cmd === 'Alert' ? `Alert${text(c.data)}` : c.cmd))).toEqual(['Alert1200', 'Replace']);
  });
});
