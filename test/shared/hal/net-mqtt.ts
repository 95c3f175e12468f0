/** MQTT part of the shared Net suite (see net.ts): semantics any broker + client pair must show. */
import { describe, expect, it } from 'vitest';
import { ClosedError, InvalidOptionsError, NetworkError } from '../../../hal/errors.ts';
import type { MqttConnection, MqttMessage } from '../../../hal/types.ts';
import { utf8Decode, utf8Encode } from '../../../agent/util/bytes.ts';
import type { NetWorld } from './net.ts';

const unique = (label: string): string => `${label}-${Math.random().toString(36).slice(2, 10)}`;

/** Collects a connection's messages; `until` waits (bounded) for one matching a predicate. */
function inbox(connection: MqttConnection): { messages: MqttMessage[]; until(predicate: (message: MqttMessage) => boolean): Promise<void> } {
  const messages: MqttMessage[] = [];
  const waiters = new Set<() => void>();
  connection.onMessage((message) => {
    messages.push(message);
    for (const waiter of [...waiters]) waiter();
  });
  return {
    messages,
    until(predicate) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected message not received; got ${messages.map((m) => m.topic).join(', ') || 'nothing'}`));
        }, 5000);
        function check(): void {
          if (!messages.some(predicate)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
        waiters.add(check);
        check();
      });
    },
  };
}

const text = (message: MqttMessage): string => utf8Decode(message.payload);

export function describeMqttTests(world: () => NetWorld): void {
  describe('mqtt', () => {
    const connect = (clientId = unique('client'), cleanSession = true): Promise<MqttConnection> =>
      world().net.mqtt.connect({ url: world().mqtt.url, clientId, cleanSession, keepAliveMs: 30_000 });

    it('publishes and receives QoS 0 and QoS 1 messages as plain Uint8Array payloads', async () => {
      const topic = unique('dm/test');
      const [subscriber, publisher] = [await connect(), await connect()];
      const box = inbox(subscriber);
      await subscriber.subscribe(`${topic}/q0`, { qos: 0 });
      await subscriber.subscribe(`${topic}/q1`, { qos: 1 });
      await publisher.publish(`${topic}/q0`, utf8Encode('zero'));
      await publisher.publish(`${topic}/q1`, utf8Encode('one'), { qos: 1 });
      await box.until((message) => message.topic === `${topic}/q1`);
      expect(box.messages.map((m) => ({ topic: m.topic, text: text(m), qos: m.qos, retain: m.retain }))).toEqual([
        { topic: `${topic}/q0`, text: 'zero', qos: 0, retain: false },
        { topic: `${topic}/q1`, text: 'one', qos: 1, retain: false },
      ]);
      for (const message of box.messages) expect(Object.getPrototypeOf(message.payload)).toBe(Uint8Array.prototype);
      await Promise.all([subscriber.close(), publisher.close()]);
    });

    it('delivers at the lower of publish and subscription QoS', async () => {
      const topic = unique('dm/qos');
      const [subscriber, publisher] = [await connect(), await connect()];
      const box = inbox(subscriber);
      await subscriber.subscribe(topic, { qos: 0 });
      await publisher.publish(topic, utf8Encode('x'), { qos: 1 });
      await box.until(() => true);
      expect(box.messages[0]?.qos).toBe(0);
      await Promise.all([subscriber.close(), publisher.close()]);
    });

    it('matches + and # wildcards', async () => {
      const base = unique('dm/wild');
      const [subscriber, publisher] = [await connect(), await connect()];
      const box = inbox(subscriber);
      await subscriber.subscribe(`${base}/+/status`);
      await subscriber.subscribe(`${base}/fleet/#`);
      for (const topic of ['a/status', 'a/b/status', 'fleet', 'fleet/x/y', 'other', 'z/status']) await publisher.publish(`${base}/${topic}`, utf8Encode(topic));
      await box.until((message) => text(message) === 'z/status'); // the last one: everything before it has arrived
      expect(box.messages.map(text)).toEqual(['a/status', 'fleet', 'fleet/x/y', 'z/status']);
      await Promise.all([subscriber.close(), publisher.close()]);
    });

    it('keeps retained messages for new subscribers until cleared by an empty payload', async () => {
      const base = unique('dm/retain');
      const publisher = await connect();
      const live = await connect();
      const liveBox = inbox(live);
      await live.subscribe(`${base}/#`, { qos: 1 });
      await publisher.publish(`${base}/config`, utf8Encode('v1'), { qos: 1, retain: true });
      await liveBox.until((message) => message.topic === `${base}/config`);
      expect(liveBox.messages[0]?.retain).toBe(false); // a live subscriber gets it as a normal message

      const late = await connect();
      const lateBox = inbox(late);
      await late.subscribe(`${base}/#`, { qos: 1 });
      await lateBox.until((message) => message.topic === `${base}/config`);
      expect(lateBox.messages.map((m) => ({ text: text(m), retain: m.retain, qos: m.qos }))).toEqual([{ text: 'v1', retain: true, qos: 1 }]);

      await publisher.publish(`${base}/config`, new Uint8Array(0), { qos: 1, retain: true });
      const after = await connect();
      const afterBox = inbox(after);
      await after.subscribe(`${base}/#`, { qos: 1 });
      // Retained messages come right after SUBACK, before anything published later.
      await publisher.publish(`${base}/marker`, utf8Encode('live'), { qos: 1 });
      await afterBox.until((message) => message.topic === `${base}/marker`);
      expect(afterBox.messages.map((m) => m.topic)).toEqual([`${base}/marker`]);
      await Promise.all([publisher, live, late, after].map((connection) => connection.close()));
    });

    it('a persistent session resumes subscriptions and receives QoS 1 messages published while offline', async () => {
      const clientId = unique('persist');
      const topic = unique('dm/persist');
      const first = await connect(clientId, false);
      expect(first.sessionPresent).toBe(false);
      await first.subscribe(topic, { qos: 1 });
      await first.close();

      const publisher = await connect();
      for (const n of [1, 2, 3]) await publisher.publish(topic, utf8Encode(`offline ${n}`), { qos: 1 });

      const resumed = await connect(clientId, false);
      expect(resumed.sessionPresent).toBe(true);
      const box = inbox(resumed);
      await box.until((message) => text(message) === 'offline 3');
      expect(box.messages.map((m) => [text(m), m.qos])).toEqual([
        ['offline 1', 1],
        ['offline 2', 1],
        ['offline 3', 1],
      ]);
      await publisher.publish(topic, utf8Encode('online'), { qos: 1 }); // still subscribed without subscribing again
      await box.until((message) => text(message) === 'online');
      await Promise.all([resumed.close(), publisher.close()]);
      await (await connect(clientId, true)).close(); // leave no session behind
    });

    it('cleanSession discards the stored session', async () => {
      const clientId = unique('clean');
      await (await connect(clientId, false)).close();
      const clean = await connect(clientId, true);
      expect(clean.sessionPresent).toBe(false);
      await clean.close();
      const again = await connect(clientId, false);
      expect(again.sessionPresent).toBe(false);
      await again.close();
      await (await connect(clientId, true)).close();
    });

    it('onClose fires once with a cause when the broker drops the client; later calls throw ClosedError', async () => {
      const clientId = unique('kicked');
      const connection = await connect(clientId);
      const causes: unknown[] = [];
      const closed = new Promise<void>((resolve) =>
        connection.onClose((cause) => {
          causes.push(cause);
          resolve();
        }),
      );
      await world().mqtt.kick(clientId);
      await closed;
      expect(causes).toHaveLength(1);
      expect(causes[0]).toBeInstanceOf(NetworkError);
      await expect(connection.publish('dm/after', new Uint8Array([1]))).rejects.toBeInstanceOf(ClosedError);
      await connection.close(); // still idempotent after a loss
      expect(causes).toHaveLength(1);
    });

    it('the Last Will goes out when the broker drops the client, not after close(); MQTT 5 or 3.1.1 as asked', async () => {
      const topic = unique('dm/will');
      const watcher = await connect();
      const box = inbox(watcher);
      await watcher.subscribe(topic, { qos: 1 });
      const willing = (clientId: string, protocolVersion: 4 | 5, said: string) =>
        world().net.mqtt.connect({ url: world().mqtt.url, clientId, protocolVersion, will: { topic, payload: utf8Encode(said), qos: 1, retain: false } });
      const polite = await willing(unique('polite'), 5, 'polite');
      expect(polite.protocolVersion).toBe(5);
      await polite.close();
      const dropped = unique('dropped');
      const rude = await willing(dropped, 4, 'dropped');
      expect(rude.protocolVersion).toBe(4);
      await world().mqtt.kick(dropped);
      await box.until((message) => message.topic === topic);
      expect(box.messages.map(text)).toEqual(['dropped']);
      await expect(world().net.mqtt.connect({ url: world().mqtt.url, clientId: unique('bad'), will: { topic: 'a/#', payload: new Uint8Array(0) } })).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(world().net.mqtt.connect({ url: world().mqtt.url, clientId: unique('bad'), protocolVersion: 3 as never })).rejects.toBeInstanceOf(InvalidOptionsError);
      await watcher.close();
    });

    it('close() is idempotent and reports no cause', async () => {
      const connection = await connect();
      const causes: unknown[] = [];
      connection.onClose((cause) => causes.push(cause));
      await connection.close();
      await connection.close();
      expect(causes).toEqual([undefined]);
      await expect(connection.subscribe('dm/x')).rejects.toBeInstanceOf(ClosedError);
    });

    it('a broker that is not there refuses the connection', async () => {
      const { net, mqtt } = world();
      await expect(net.mqtt.connect({ url: mqtt.refusedUrl, clientId: unique('refused'), connectTimeoutMs: 5000 })).rejects.toMatchObject({ name: 'NetworkError', code: 'refused' });
    });

    it('validates options, topics and QoS', async () => {
      const { net, mqtt } = world();
      await expect(net.mqtt.connect({ url: mqtt.url, clientId: '' })).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(net.mqtt.connect({ url: 'http://broker.test/', clientId: 'x' })).rejects.toBeInstanceOf(InvalidOptionsError);
      const connection = await connect();
      await expect(connection.publish('dm/+/x', new Uint8Array(0))).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(connection.subscribe('dm/#/x')).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(connection.subscribe('dm/x', { qos: 2 as 1 })).rejects.toBeInstanceOf(InvalidOptionsError);
      await connection.close();
    });
  });
}
