/**
 * Full OMA DM sessions between the client (agent/omadm) on the mock HAL and the reference server
 * (server/omadm) on the in-process network: package #0 over the device's MQTT topic, the session,
 * the FUMO download into the inactive slot, the hold, Exec Update, the reboot, the confirmed trial
 * boot and the Generic Alerts acknowledged — plus the refusals (ACL 425, bad digest, replay), the
 * auth-md5 challenge, the DM 1.1 fallback, Atomic rollback and both encodings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { listenUdp, notificationTopic, type PushListener, subscribeMqtt } from '../../agent/omadm/push.ts';
import { add, atomic, del, fumoDownload, fumoUpdate, get, replace, userAlert } from '../../server/omadm/index.ts';
import { DEVICE_ID, type DmDevice, drained, waitFor, type MockWorld, mockWorld, notification, openDmDevice } from './session-rig.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function world(options: Parameters<typeof mockWorld>[0] = {}): Promise<MockWorld> {
  const w = await mockWorld(options);
  cleanups.push(w.cleanup);
  return w;
}

/** The device's MQTT listener feeding its router, and a publisher on the server's side of the broker. */
async function mqttPush(w: MockWorld, dev: DmDevice): Promise<{ listener: PushListener; push(bytes: Uint8Array): Promise<void> }> {
  const connection = await w.hardware.device!.net.mqtt.connect({ url: w.network.brokerUrl, clientId: 'omadm-device' });
  const listener = await subscribeMqtt(connection, notificationTopic(DEVICE_ID), dev.client.router);
  const serverNet = w.network.attach({ name: 'dm-server' });
  const publisher = await serverNet.mqtt.connect({ url: w.network.brokerUrl, clientId: 'dm-server' });
  cleanups.push(async () => {
    await listener.close();
    await publisher.close();
    await connection.close();
  });
  return {
    listener,
    push: async (bytes) => {
      await publisher.publish(notificationTopic(DEVICE_ID), bytes, { qos: 1 });
      // Let the broker deliver, then wait for the router and the session it started.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
      await drained(dev);
    },
  };
}

describe('OMA DM sessions against the reference server (mock HAL)', () => {
  it('package #0 over MQTT → Get/Replace/Add/Delete → FUMO Download → hold at 40 → Update → reboot → confirmed → both Generic Alerts acknowledged', async () => {
    const w = await world();
    let dev = await openDmDevice(w.hardware.device!, w.server.url);
    const { push, listener } = await mqttPush(w, dev);
    w.server.script(
      [get('./DevInfo/Mod', './DevInfo/DevId'), add({ uri: './App/Level', data: '3', format: 'int' }), replace({ uri: './FUMO/1/PkgName', data: 'fw' }, { uri: './FUMO/1/PkgVersion', data: '2.0' })],
      [replace({ uri: './App?prop=ACL', data: 'Add=*&Delete=*&Get=*&Replace=*' }), del('./App/Level'), ...fumoDownload('1', w.packageUrl, 'corr-dl')],
    );
    await push(notification(0x21));
    const sessions = w.server.journal.of('session');
    expect(dev.client.tree.committed('App/Level')).toBeUndefined();
    expect(sessions).toEqual([{ kind: 'session', sessionId: '21', deviceId: DEVICE_ID, version: '1.2', initiated: 'server' }]);
    expect(w.server.journal.statuses('21')).toEqual(['Get:200', 'Get:200', 'Add:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Delete:200', 'Replace:200', 'Exec:202']);
    expect(w.server.journal.of('result').map((r) => `${r.uri}=${r.data}`)).toEqual(['./DevInfo/Mod=Widget', `./DevInfo/DevId=${DEVICE_ID}`]);
    // Downloaded into the inactive slot and held: State 40, nothing activated, no reboot asked.
    expect(dev.client.fumo.state('1')).toBe(40);
    expect(await w.hardware.device!.update.status()).toMatchObject({ active: 'a', confirmed: true });
    expect((await w.hardware.device!.update.status()).pending).toBeUndefined();
    expect(w.hardware.rebootRequests).toHaveLength(0);
    expect(w.server.journal.of('download').length).toBeGreaterThanOrEqual(2);

    expect(await dev.client.deliverAlerts()).toBe(1);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', source: './FUMO/1', type: 'org.openmobilealliance.dm.firmwareupdate.download', result: 200 }]);

    w.server.script([fumoUpdate('1', 'corr-up')]);
    await push(notification(0x22));
    expect(w.server.journal.statuses('22')).toEqual(['Exec:202']);
    expect(dev.client.fumo.state('1')).toBe(60);
    expect(w.hardware.rebootRequests).toHaveLength(1);
    expect(await w.hardware.device!.update.status()).toMatchObject({ active: 'a', pending: 'b' });

    await listener.close();
    const device = await w.reboot();
    dev = await openDmDevice(device, w.server.url);
    expect(dev.client.fumo.state('1')).toBe(60); // persisted across the reboot
    expect(await dev.pipeline.afterBoot()).toBe('reported');
    expect(await device.update.status()).toMatchObject({ active: 'b', confirmed: true });
    expect(dev.client.fumo.state('1')).toBe(100);
    expect(await dev.client.deliverAlerts()).toBe(1);
    expect(w.server.journal.genericAlerts().map((a) => `${a.correlator} ${a.type.split('.').at(-1)} ${a.result}`)).toEqual(['corr-dl download 200', 'corr-up update 200']);
    expect(await dev.client.deliverAlerts()).toBe(0);
  });

  it('an ACL-denied command gets 425; Atomic with one failing command leaves the tree unchanged; user alerts are answered', async () => {
    const w = await world();
    const dev = await openDmDevice(w.hardware.device!, w.server.url);
    w.server.script([
      replace({ uri: './DevInfo/Man', data: 'Evil' }),
      atomic(add({ uri: './App/A', data: '1' }), replace({ uri: './App/Missing', data: '1' }), add({ uri: './App/B', data: '1' })),
      userAlert('1101', 'Install the update?', { defaultResponse: '1' }),
      userAlert('1100', 'Hello', { maxDisplayTime: 5 }),
      get('./App/A'),
    ]);
    expect(await dev.client.router.receive(notification(7))).toBe(true);
    expect(w.server.journal.statuses()).toEqual(['Replace:425', 'Atomic:507', 'Add:216', 'Replace:404', 'Add:215', 'Alert:200', 'Alert:200', 'Get:404']);
    expect(dev.client.tree.committed('DevInfo/Man')?.value).toBe('Acme');
    expect(dev.client.tree.committed('App/A')).toBeUndefined();
    expect(dev.client.tree.committed('App/B')).toBeUndefined();
  });

  it('a package #0 with a bad digest (over the device\'s UDP listener) starts no session; a replayed one starts none either', async () => {
    const w = await world();
    const dev = await openDmDevice(w.hardware.device!, w.server.url);
    const listener = await listenUdp(w.hardware.device!.net.udp!, dev.client.router);
    cleanups.push(() => listener.close());
    const sender = await w.network.attach({ name: 'dm-server' }).udp!.bind({ port: 0 });
    cleanups.push(async () => sender.close());
    await sender.send(notification(0x30, 'not-the-secret'), { address: '127.0.0.1', port: listener.port });
    await sender.send(notification(0x2f), { address: '127.0.0.1', port: listener.port });
    await waitFor(() => w.server.journal.of('end').length === 1);
    await drained(dev);
    expect(w.server.journal.of('session').map((s) => s.sessionId)).toEqual(['2F']);
    expect(await dev.client.router.receive(notification(0x30, 'not-the-secret'))).toBe(false);
    expect(w.server.journal.of('session')).toHaveLength(1);
    const good = notification(0x31);
    expect(await dev.client.router.receive(good)).toBe(true);
    expect(w.server.journal.of('session')).toHaveLength(2);
    expect(await dev.client.router.receive(good)).toBe(false);
    // Remembered in the store: a reboot does not let the copy in again.
    const again = await openDmDevice(await w.reboot(), w.server.url);
    expect(await again.client.router.receive(good)).toBe(false);
    expect(w.server.journal.of('session')).toHaveLength(2);
  });

  it('auth-md5: a nonce the client does not know → 401 with a Chal; the client retries with the NextNonce → 212', async () => {
    const w = await world();
    w.server.setClientNonce('device-1', new Uint8Array([1, 2, 3, 4]));
    const dev = await openDmDevice(w.hardware.device!, w.server.url);
    w.server.script([get('./DevInfo/Man')]);
    expect(await dev.client.router.receive(notification(0x40))).toBe(true);
    expect(w.server.journal.of('auth').map((a) => a.status)).toEqual([401, 212]);
    expect(w.server.journal.statuses('40')).toEqual(['Get:200']);
    // The nonce was persisted: the next session authenticates at once.
    w.server.script([get('./DevInfo/Mod')]);
    expect(await dev.client.router.receive(notification(0x41))).toBe(true);
    expect(w.server.journal.of('auth').map((a) => a.status)).toEqual([401, 212, 212]);
  });

  it('a DM 1.1-only server answers 505; the client falls back to DM 1.1.2 and the session runs', async () => {
    const w = await world({ versions: '1.1-only' });
    const dev = await openDmDevice(w.hardware.device!, w.server.url);
    w.server.script([get('./DevInfo/Mod')]);
    expect(await dev.client.router.receive(notification(0x50))).toBe(true);
    expect(w.server.journal.of('refused')).toMatchObject([{ status: 505, version: '1.2' }]);
    expect(w.server.journal.of('session')).toMatchObject([{ version: '1.1' }]);
    expect(w.server.journal.statuses('50')).toEqual(['Get:200']);
    expect(w.server.journal.of('result')).toMatchObject([{ uri: './DevInfo/Mod', data: 'Widget' }]);
  });

  it('large objects: under the server\'s small MaxMsgSize the client sends a big Results in MoreData chunks, the server asks for each with 1222', async () => {
    const w = await world({ maxMsgSize: 1024 });
    const dev = await openDmDevice(w.hardware.device!, w.server.url);
    const big = 'x'.repeat(2500);
    w.server.script([add({ uri: './App/Big', data: big })], [get('./App/Big')]);
    expect(await dev.client.router.receive(notification(0x70))).toBe(true);
    const chunks = w.server.journal.of('result').filter((r) => r.uri === './App/Big');
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.slice(0, -1).every((c) => c.moreData)).toBe(true);
    expect(chunks.at(-1)?.moreData).toBeUndefined();
    expect(chunks.map((c) => c.data).join('')).toBe(big);
    const statuses = w.server.journal.statuses('70');
    expect(statuses.filter((x) => !x.startsWith('Alert:'))).toEqual(['Add:200', 'Get:200']);
    // One 1222 (next message) per chunk after the first, each acknowledged by the client.
    expect(statuses.filter((x) => x === 'Alert:200')).toHaveLength(chunks.length - 1);
  });

  it('Get ?list=StructData under a small MaxMsgSize: the Results is split by items over several messages', async () => {
    const w = await world({ maxMsgSize: 1024 });
    const dev = await openDmDevice(w.hardware.device!, w.server.url);
    w.server.script([get('./DMAcc?list=StructData')]);
    expect(await dev.client.router.receive(notification(0x71))).toBe(true);
    const uris = w.server.journal.of('result').map((r) => r.uri);
    expect(uris[0]).toBe('./DMAcc');
    expect(uris).toContain('./DMAcc/srv1/AppAddr/1/Addr');
    expect(uris.some((u) => u.endsWith('AAuthSecret'))).toBe(false);
    expect(new Set(uris).size).toBe(uris.length); // every node once
    // More than one message carried them: the client was asked to continue (1222) at least once.
    expect(w.server.journal.statuses('71').filter((x) => x === 'Alert:200').length).toBeGreaterThan(0);
  });

  it.each(['xml', 'wbxml'] as const)('%s: the session runs in that encoding end to end', async (encoding) => {
    const w = await world({ encoding });
    const dev = await openDmDevice(w.hardware.device!, w.server.url, { encoding });
    w.server.script([get('./DevDetail/LrgObj'), replace({ uri: './FUMO/1/PkgName', data: `pkg-${encoding}` })]);
    expect(await dev.client.router.receive(notification(0x60))).toBe(true);
    const types = w.network.requests.filter((r) => r.url.endsWith('/dm')).map((r) => r.headers['content-type']);
    expect(new Set(types)).toEqual(new Set([`application/vnd.syncml.dm+${encoding}`]));
    expect(w.server.journal.statuses()).toEqual(['Get:200', 'Replace:200']);
    expect(dev.client.tree.committed('FUMO/1/PkgName')?.value).toBe(`pkg-${encoding}`);
  });
});

