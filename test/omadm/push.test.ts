import { describe, expect, it } from 'vitest';
import { findAccount } from '../../agent/omadm/csp/dmacc.ts';
import { buildNotification, type Notification, NotificationRouter } from '../../agent/omadm/notification.ts';
import { listenUdp, notificationTopic, subscribeMqtt } from '../../agent/omadm/push.ts';
import { createMockNetwork } from '../../hal/mock/net.ts';
import { createNodeNet } from '../../hal/node/net.ts';
import { InvalidOptionsError, NetworkError } from '../../hal/errors.ts';
import type { Udp } from '../../hal/types.ts';
import { ACCOUNT, md5, newMedium, seededTree } from './support.ts';

async function routerFor() {
  const store = await newMedium().open();
  const { tree } = await seededTree(store);
  const started: Notification[] = [];
  const router = new NotificationRouter({ md5, store, account: (id) => findAccount(tree, id), startSession: async (n) => void started.push(n) });
  const pkg0 = (sessionId: number, secret = ACCOUNT.server.secret) => buildNotification(md5, { sessionId, serverId: 'srv1' }, { name: 'srv1', secret, nonce: ACCOUNT.server.nonce as Uint8Array });
  return { router, started, pkg0 };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('package #0 transports', () => {
  it('UDP on the mock HAL: verified notifications start sessions, forged ones do not; ports are validated and exclusive', async () => {
    const network = createMockNetwork();
    const udp = network.net.udp as Udp;
    const { router, started, pkg0 } = await routerFor();
    const listener = await listenUdp(udp, router);
    expect(listener.port).toBe(2948);
    await expect(udp.bind({ port: 2948 })).rejects.toBeInstanceOf(NetworkError);
    await expect(udp.bind({ port: 70000 })).rejects.toBeInstanceOf(InvalidOptionsError);
    const server = await network.attach({ name: 'server' }).udp?.bind({ port: 0 });
    await server?.send(pkg0(1, 'forged'), { address: '127.0.0.1', port: 2948 });
    await server?.send(pkg0(2), { address: '127.0.0.1', port: 2948 });
    await until(() => started.length > 0);
    expect(started.map((n) => n.sessionId)).toEqual([2]);
    await listener.close();
    await listener.close();
    network.net.close();
  });

  it('UDP on the node HAL over loopback', async () => {
    const net = createNodeNet();
    try {
      const { router, started, pkg0 } = await routerFor();
      const listener = await listenUdp(net.udp as Udp, router, { port: 0, address: '127.0.0.1' });
      const sender = await (net.udp as Udp).bind({ port: 0, address: '127.0.0.1' });
      await sender.send(pkg0(9), { address: '127.0.0.1', port: listener.port });
      await until(() => started.length > 0);
      expect(started[0]?.sessionId).toBe(9);
      await sender.close();
      await listener.close();
    } finally {
      net.close();
    }
  });

  it('MQTT topic per device on the mock broker', async () => {
    const network = createMockNetwork();
    const { router, started, pkg0 } = await routerFor();
    const device = await network.net.mqtt.connect({ url: network.brokerUrl, clientId: 'device-1' });
    const topic = notificationTopic('IMEI:1/2');
    expect(topic).toBe('dm/IMEI:1_2/pkg0');
    const listener = await subscribeMqtt(device, topic, router);
    const server = await network.attach({ name: 'server' }).mqtt.connect({ url: network.brokerUrl, clientId: 'server' });
    await server.publish('dm/other/pkg0', pkg0(3), { qos: 1 });
    await server.publish(topic, pkg0(4), { qos: 1 });
    await until(() => started.length > 0);
    expect(started.map((n) => n.sessionId)).toEqual([4]);
    await listener.close();
    network.net.close();
  });
});
