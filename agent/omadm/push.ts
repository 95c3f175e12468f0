/**
 * The transports of package #0, all feeding the one push router (notification.ts): a UDP listener
 * (connectionless WAP push, port 2948 by default) and an MQTT topic per device. The family itself
 * takes what it needs from package-zero.ts; this module adds the defaults and the MQTT topic
 * (named by agent/push/message.ts, which the family chunk does not load).
 */
import type { MqttConnection, MqttQos, Udp } from '../../hal/types.ts';
import { deviceTopics } from '../push/message.ts';
import { UDP_PUSH_PORT } from './notification.ts';
import { bindUdp, feed, PUSH_CHANNEL, type PushListener, type PushRouter } from './package-zero.ts';

export { PUSH_CHANNEL, type PushListener, pushPackageZero } from './package-zero.ts';

export function listenUdp(udp: Udp, router: PushRouter, options: { port?: number; address?: string; onError?: (error: unknown) => void } = {}): Promise<PushListener & { port: number }> {
  return bindUdp(udp, router, { ...options, port: options.port ?? UDP_PUSH_PORT });
}

/** The device's notification topic with the default prefix: `dm/<device id>/pkg0` (agent/push/message.ts). */
export function notificationTopic(devId: string, prefix?: string): string {
  return deviceTopics(devId, prefix).channel(PUSH_CHANNEL);
}

export async function subscribeMqtt(connection: MqttConnection, topic: string, router: PushRouter, options: { qos?: MqttQos; onError?: (error: unknown) => void } = {}): Promise<PushListener> {
  const off = connection.onMessage((message) => {
    if (message.topic === topic) feed(router, message.payload, options.onError);
  });
  await connection.subscribe(topic, { qos: options.qos ?? 1 });
  return {
    async close() {
      off();
      await connection.unsubscribe(topic).catch(() => undefined);
    },
  };
}
