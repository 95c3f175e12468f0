/**
 * The servers' side of the push channel (agent/push/): a broker to publish wake-ups on, and the
 * admin API's "push now".
 *  - `startPushBroker()` embeds aedes (MQTT 3.1.1 only; the agents fall back to it) on a loopback
 *    TCP port, so `dm-agent server` and `npm start` need no system service;
 *  - `connectPushBroker(url)` publishes through any external broker (mosquitto, EMQX, HiveMQ) with
 *    one long-lived mqtt.js client — the way a fleet outgrows one machine.
 * Both publish at QoS 1 and never retain a wake-up (a device connecting later must not act on it).
 * `mqtt` and `aedes` are imported on first use: a server without push never loads them.
 */
import { createServer, type Server } from 'node:net';
import { DEFAULT_TOPIC_PREFIX, deviceTopics, encodeWake, type WakeMessage } from '../agent/push/message.ts';
import { allow, readJson } from './api.ts';
import { HttpError, jsonAnswer, type ManagerRequest, type ManagerResponse } from './wire.ts';

export interface PushBroker {
  /** Where devices connect: `mqtt://127.0.0.1:<port>` or the external broker's URL. */
  readonly url: string;
  /** 'embedded' (aedes in this process) or 'external'. */
  readonly kind: 'embedded' | 'external';
  readonly topicPrefix: string;
  /** Publishes at QoS 1 (resolves once the broker has it). */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export async function startPushBroker(options: { host?: string; port?: number; topicPrefix?: string } = {}): Promise<PushBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closed: Promise<void> | undefined;
  return {
    url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`,
    kind: 'embedded',
    topicPrefix: options.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, (error?: Error) => (error ? reject(error) : resolve())),
      ),
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}

export async function connectPushBroker(url: string, options: { clientId?: string; topicPrefix?: string; username?: string; password?: string } = {}): Promise<PushBroker> {
  const { default: mqtt } = await import('mqtt');
  const client = await mqtt.connectAsync(url, {
    clientId: options.clientId ?? `dm-server-${process.pid}-${Date.now().toString(36)}`,
    connectTimeout: 10_000,
    // mqtt.js reconnects and re-sends unacknowledged QoS 1 publishes on its own here: the server is no device.
    reconnectPeriod: 2000,
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  }, false); // false: a broker that is not there fails the start instead of being retried forever
  let closed: Promise<void> | undefined;
  return {
    url,
    kind: 'external',
    topicPrefix: options.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    publish: async (topic, payload) => void (await client.publishAsync(topic, Buffer.from(payload), { qos: 1 })),
    close: () => (closed ??= client.endAsync()),
  };
}

let wakeCounter = 0;

/** Publishes one CBOR wake-up to a device (or to every device with `deviceId` undefined); returns where and its id. */
export async function publishWake(broker: PushBroker, deviceId: string | undefined, wake: Omit<WakeMessage, 'id'> & { id?: string }): Promise<{ topic: string; id: string }> {
  const id = wake.id ?? `${Date.now().toString(36)}-${(wakeCounter++).toString(36)}`;
  const topics = deviceTopics(deviceId ?? 'all', broker.topicPrefix);
  const topic = deviceId === undefined ? topics.broadcast : topics.wake;
  await broker.publish(topic, encodeWake({ ...wake, id }));
  return { topic, id };
}

/**
 * `POST /api/push` (every device) and `POST /api/devices/<id>/push`: body `{t?: 'poll'|'check',
 * family?: string}` (default `{t: 'poll'}`, every family). 202 with the topic and the wake-up id.
 */
export async function servePush(broker: PushBroker | undefined, request: ManagerRequest, deviceId?: string): Promise<ManagerResponse> {
  allow(request.method, 'POST');
  if (!broker) throw new HttpError(404, 'pushDisabled', 'this manager has no push broker (dm-agent server embeds one unless told otherwise)');
  const body = request.body.length === 0 ? {} : readJson(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'badPush', 'body must be a JSON object {t?, family?}');
  const { t = 'poll', family } = body as { t?: unknown; family?: unknown };
  let wake: WakeMessage;
  try {
    wake = { t: t as WakeMessage['t'], ...(family !== undefined ? { family: family as string } : {}) };
    encodeWake(wake); // validates
  } catch (error) {
    throw new HttpError(400, 'badPush', error instanceof Error ? error.message : String(error));
  }
  try {
    return jsonAnswer(202, await publishWake(broker, deviceId, wake));
  } catch (error) {
    throw new HttpError(502, 'brokerUnavailable', `push broker: ${error instanceof Error ? error.message : String(error)}`);
  }
}
