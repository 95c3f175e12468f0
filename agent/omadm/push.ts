/**
 * The transports of package #0, all feeding the one push router (notification.ts): a UDP listener
 * (connectionless WAP push, port 2948 by default) and an MQTT topic per device. A bad datagram or
 * message is the router's to refuse; a listener never throws into the transport.
 */
import type { MqttConnection, MqttQos, Udp } from '../../hal/types.ts';
import type { NotificationRouter } from './notification.ts';
import { UDP_PUSH_PORT } from './notification.ts';

export interface PushListener {
  /** Stops listening (idempotent). */
  close(): Promise<void>;
}

/** Largest package #0 accepted (digest + header + 255-byte server id + a vendor body). */
const MAX_NOTIFICATION = 4096;

function feed(router: NotificationRouter, payload: Uint8Array, onError?: (error: unknown) => void): void {
  if (payload.length > MAX_NOTIFICATION) return;
  router.receive(payload).catch((error) => onError?.(error));
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

/** The device's notification topic by default: `dm/<device id>/pkg0`. */
export function notificationTopic(devId: string): string {
  return `dm/${devId.replace(/[+#/]/g, '_')}/pkg0`;
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
