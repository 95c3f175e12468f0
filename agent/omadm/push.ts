/**
 * The transports of package #0, all feeding the one push router (notification.ts): a UDP listener
 * (connectionless WAP push, port 2948 by default) and an MQTT topic per device. A bad datagram or
 * message is the router's to refuse; a listener never throws into the transport.
 */
import type { MqttConnection, MqttQos, Udp } from '../../hal/types.ts';
import { deviceTopics } from '../push/message.ts';
import { OmaDmError } from './errors.ts';
import type { NotificationRouter } from './notification.ts';
import { UDP_PUSH_PORT } from './notification.ts';

export interface PushListener {
  /** Stops listening (idempotent). */
  close(): Promise<void>;
}

/** Largest package #0 accepted (digest + header + 255-byte server id + a vendor body). */
const MAX_NOTIFICATION = 4096;

function feed(router: NotificationRouter, payload: Uint8Array, onError?: (error: unknown) => void): void {
  pushPackageZero(router, payload).catch((error) => onError?.(error));
}

/** The family's channel name on the agent's push channel (agent/push/): topic `<prefix>/<device>/pkg0`. */
export const PUSH_CHANNEL = 'pkg0';

/** Package #0 from any transport into the router; an oversized one is refused before parsing. */
export async function pushPackageZero(router: NotificationRouter, payload: Uint8Array): Promise<void> {
  if (payload.length > MAX_NOTIFICATION) throw new OmaDmError('notification', `package #0 of ${payload.length} bytes (max ${MAX_NOTIFICATION})`);
  await router.receive(payload);
}

export async function listenUdp(udp: Udp, router: NotificationRouter, options: { port?: number; address?: string; onError?: (error: unknown) => void } = {}): Promise<PushListener & { port: number }> {
  const socket = await udp.bind({ port: options.port ?? UDP_PUSH_PORT, ...(options.address === undefined ? {} : { address: options.address }) });
  const off = socket.onMessage((datagram) => feed(router, datagram.payload, options.onError));
  return {
    port: socket.port,
    async close() {
      off();
      await socket.close();
    },
  };
}

/** The device's notification topic with the default prefix: `dm/<device id>/pkg0` (agent/push/message.ts). */
export function notificationTopic(devId: string, prefix?: string): string {
  return deviceTopics(devId, prefix).channel(PUSH_CHANNEL);
}

export async function subscribeMqtt(connection: MqttConnection, topic: string, router: NotificationRouter, options: { qos?: MqttQos; onError?: (error: unknown) => void } = {}): Promise<PushListener> {
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
