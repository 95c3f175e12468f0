/**
 * Package #0 over MQTT: one topic per device (./topic.ts) on the HAL's MQTT facet, every message fed
 * to the push router (which verifies the digest before anything else). A QoS 1 subscription on a
 * persistent session (cleanSession false) gets a notification published while the device was away.
 */
import type { MqttClient, MqttConnection } from '../../../hal/types.ts';
import { notifyTopic } from './topic.ts';

export interface MqttPushOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  deviceId: string;
  /** Default `omadm-<deviceId>`. */
  clientId?: string;
  username?: string;
  password?: string;
  /** Where each payload goes: the router's `receive`. */
  receive(bytes: Uint8Array): Promise<boolean>;
  /** A router failure (not a rejection: those resolve false) for the caller's log. */
  onError?(error: unknown): void;
}

export interface MqttPushListener {
  readonly topic: string;
  /** Resolves when every message received so far has been handled (tests, orderly shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function listenMqttPush(mqtt: MqttClient, options: MqttPushOptions): Promise<MqttPushListener> {
  const topic = notifyTopic(options.deviceId);
  const connection: MqttConnection = await mqtt.connect({
    url: options.url,
    clientId: options.clientId ?? `omadm-${options.deviceId}`.slice(0, 64),
    cleanSession: false,
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  });
  let pending: Promise<unknown> = Promise.resolve();
  const off = connection.onMessage((message) => {
    if (message.topic !== topic) return;
    pending = pending.then(() => options.receive(message.payload)).catch((error: unknown) => options.onError?.(error));
  });
  await connection.subscribe(topic, { qos: 1 });
  let closed: Promise<void> | undefined;
  return {
    topic,
    idle: async () => void (await pending),
    close: () =>
      (closed ??= (async () => {
        off();
        await pending;
        await connection.close();
      })()),
  };
}
