/**
 * The same sessions on the node HAL over loopback: the reference server behind a real HTTP
 * listener, package #0 as a real UDP datagram to the device's listener and through a real
 * mosquitto on a free loopback port, the FUMO image in the file-backed flash's inactive slot, and
 * the reboot played by creating the device again on the same work directory.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenUdp, notificationTopic, subscribeMqtt } from '../../agent/omadm/push.ts';
import { createNodeDevice, type NodeDevice } from '../../hal/node/index.ts';
import { fumoDownload, fumoUpdate, get, publishMqttPush, replace, sendUdpPush, startDmServer } from '../../server/omadm/index.ts';
import { startMosquitto } from '../support/mosquitto.ts';
import { CLIENT, DEVICE_ID, drained, waitFor, engines, IMAGE, md5, notification, openDmDevice, SERVER, writePackage } from './session-rig.ts';

const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8'));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function setup(encoding?: 'xml' | 'wbxml') {
  const dir = await mkdtemp(join(tmpdir(), 'dm-omadm-node-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const pkg = await writePackage(dir, 'fw-2.0.bin', IMAGE);
  const running = await startDmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [pkg], md5, tokenize: engines.syncmlTokenize, ...(encoding ? { encoding } : {}) });
  cleanups.push(() => running.close());
  const device = async (): Promise<NodeDevice> => {
    const made = await createNodeDevice({
      workDir: join(dir, 'phone'),
      board: sim,
      identity: { deviceId: DEVICE_ID, model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' },
      log: { level: 'error' },
      onReboot: () => {}, // the test plays the reboot
    });
    cleanups.push(() => made.close());
    return made;
  };
  return { running, server: running.server, pkg, device };
}

describe('OMA DM sessions against the reference server (node HAL, loopback)', () => {
  it('UDP and MQTT package #0 → session → FUMO download → hold → update → reboot → confirmed → Generic Alerts acknowledged', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const { server, pkg, device } = await setup();
    let phone = await device();
    let dev = await openDmDevice(phone, server.url);
    const udp = await listenUdp(phone.net.udp!, dev.client.router, { port: 0, address: '127.0.0.1' });
    cleanups.push(() => udp.close());

    server.script([get('./DevInfo/Man'), replace({ uri: './FUMO/1/PkgName', data: 'fw' }), ...fumoDownload('1', server.packageUrl(pkg.name), 'corr-dl')]);
    await sendUdpPush(notification(0x101), { host: '127.0.0.1', port: udp.port }, server.journal, 0x101);
    await waitFor(() => server.journal.of('end').length === 1);
    await drained(dev);
    expect(server.journal.of('session')).toMatchObject([{ sessionId: '101', initiated: 'server', version: '1.2' }]);
    expect(server.journal.statuses('101')).toEqual(['Get:200', 'Replace:200', 'Replace:200', 'Exec:202']);
    expect(dev.client.fumo.state('1')).toBe(40);
    expect(await dev.client.deliverAlerts()).toBe(1);

    // Exec Update arrives over MQTT (a real broker); the device subscribed to its topic.
    const connection = await phone.net.mqtt.connect({ url: broker.url, clientId: 'omadm-node-phone' });
    cleanups.push(async () => connection.close());
    await subscribeMqtt(connection, notificationTopic(DEVICE_ID), dev.client.router);
    server.script([fumoUpdate('1', 'corr-up')]);
    await publishMqttPush(notification(0x102), broker.url, notificationTopic(DEVICE_ID), server.journal, 0x102);
    await waitFor(() => server.journal.of('end').length === 3);
    await drained(dev);
    expect(dev.client.fumo.state('1')).toBe(60);
    expect(await phone.update.status()).toMatchObject({ pending: 'b' });
    await udp.close();
    await connection.close();
    await dev.store.close();
    await phone.close();

    phone = await device(); // the reboot: the bootloader starts the trial
    expect(phone.bootOutcome.kind).toBe('trial');
    dev = await openDmDevice(phone, server.url);
    expect(await dev.pipeline.afterBoot()).toBe('reported');
    expect(await phone.update.status()).toMatchObject({ active: 'b', confirmed: true });
    expect(await dev.client.deliverAlerts()).toBe(1);
    expect(server.journal.genericAlerts().map((a) => `${a.correlator} ${a.result}`)).toEqual(['corr-dl 200', 'corr-up 200']);
    expect(server.journal.of('notify').map((n) => n.transport)).toEqual(['udp', 'mqtt']);
    expect(server.journal.of('download').some((d) => d.range !== undefined && d.range !== 'bytes=0-0')).toBe(true);
  });

  it.each(['xml', 'wbxml'] as const)('%s over real HTTP: Get, Replace, a 425, and the auth-md5 challenge', async (encoding) => {
    const { server, device } = await setup(encoding);
    server.setClientNonce(CLIENT.name, new Uint8Array([9, 9, 9]));
    const phone = await device();
    const dev = await openDmDevice(phone, server.url, { encoding });
    server.script([get('./DevInfo/DmV'), replace({ uri: './DevInfo/Mod', data: 'x' }, { uri: './FUMO/1/PkgVersion', data: '2.0' })]);
    expect(await dev.client.router.receive(notification(0x200))).toBe(true);
    expect(server.journal.of('auth').map((a) => a.status)).toEqual([401, 212]);
    expect(server.journal.statuses()).toEqual(['Get:200', 'Replace:425', 'Replace:200']);
    expect(server.journal.of('result')).toMatchObject([{ uri: './DevInfo/DmV', data: '1.2' }]);
  });
});

