/**
 * The agent's push channel (agent/push/) against a real mosquitto: CBOR wake-ups reach each
 * family's trigger and OMA DM package #0 the family's router; the channel reconnects with capped,
 * jittered backoff after the broker is killed and restarted; QoS 1 wake-ups published while the
 * agent is away are delivered from its persistent session, across a broker restart too; bad
 * payloads are dropped with one log line and the channel keeps working.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/index.ts';
import { encodeWake } from '../../agent/push/index.ts';
import { notificationTopic } from '../../agent/omadm/push.ts';
import { DEVICE_ID, notification } from '../omadm/session-rig.ts';
import { type RunningMosquitto, startMosquitto, startPersistentMosquitto } from '../support/mosquitto.ts';
import { pushWorld, type PushWorld, until } from './rig.ts';

const WAKE = `dm/${DEVICE_ID}/wake`;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function publisher(url: string) {
  const client = await mqtt.connectAsync(url, { clientId: `test-pub-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 0 });
  cleanups.push(() => client.endAsync());
  return (topic: string, payload: Uint8Array) => client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
}

async function world(): Promise<PushWorld> {
  const w = await pushWorld();
  cleanups.push(w.cleanup);
  return w;
}

function running(agent: Agent): void {
  const run = agent.run();
  cleanups.push(async () => {
    agent.stop();
    await run;
  });
}

const connected = (w: PushWorld) => w.events.filter((e) => e.family === 'push' && e.kind === 'connected');

describe('push channel on a real mosquitto', () => {
  let broker: RunningMosquitto;

  it('wake-ups reach each family (poll, check, all), package #0 reaches OMA DM; MQTT 5, Last Will and status', async () => {
    broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const w = await world();
    const agent = await w.start({ mqtt: { url: broker.url } });
    running(agent);
    await until(() => connected(w).length === 1 && w.polls() >= 1 && w.checks() >= 1);
    expect(connected(w)[0]).toMatchObject({ protocolVersion: 5, sessionPresent: false });
    expect(agent.push?.state).toBe('connected');
    const publish = await publisher(broker.url);
    const [polls, checks] = [w.polls(), w.checks()];
    expect(w.sessions('client')).toBe(0); // its schedule does not run at boot

    await publish(WAKE, encodeWake({ t: 'poll', family: 'delivery', id: 'w1' }));
    await until(() => w.polls() > polls);
    await publish(WAKE, encodeWake({ t: 'check', family: 'firmware', id: 'w2' }));
    await until(() => w.checks() > checks);
    await publish(WAKE, encodeWake({ t: 'check', family: 'omadm' }));
    await until(() => w.sessions("client") === 1);
    await publish(notificationTopic(DEVICE_ID), notification(0x51));
    await until(() => w.sessions('server') === 1);
    expect(w.world.server.journal.of('session').find((s) => s.initiated === 'server')).toMatchObject({ sessionId: '51' });

    // The fleet topic wakes every family at once.
    const before = { polls: w.polls(), checks: w.checks(), sessions: w.sessions('client') };
    await publish('dm/all/wake', encodeWake({ t: 'poll', id: 'all-1' }));
    await until(() => w.polls() > before.polls && w.checks() > before.checks && w.sessions('client') > before.sessions);

    // Retained status: online now; the Last Will says offline when the connection dies without a DISCONNECT.
    const status = await retained(broker.url, `dm/${DEVICE_ID}/status`);
    expect(status).toBe('online');
  });

  it('bad payloads are dropped with one log line each; the channel keeps working', async () => {
    broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const w = await world();
    const agent = await w.start({ mqtt: { url: broker.url } }, ['delivery']);
    running(agent);
    await until(() => connected(w).length === 1 && w.polls() >= 1);
    const publish = await publisher(broker.url);
    const bad: [string, Uint8Array][] = [
      [WAKE, new Uint8Array([0xff, 0x00, 0x13])], // not CBOR
      [WAKE, encodeCborRaw({ t: 'reboot' })], // unknown verb
      [WAKE, encodeWake({ t: 'poll', family: 'omadm' })], // a family this agent does not run
      [WAKE, new Uint8Array(4096)], // oversized
      [WAKE, encodeWake({ t: 'poll', id: 'dup' })],
      [WAKE, encodeWake({ t: 'poll', id: 'dup' })], // QoS 1 redelivery: same id
    ];
    const logs = w.world.hardware.logs;
    const dropped = () => logs.filter((l) => l.message === 'push message dropped');
    const polls = w.polls();
    for (const [topic, payload] of bad) await publish(topic, payload);
    await until(() => dropped().length === 5);
    expect(dropped().map((l) => l.fields?.reason)).toEqual([
      expect.stringMatching(/malformed CBOR|expected one CBOR item/),
      expect.stringMatching(/t: expected one of poll, check/),
      expect.stringMatching(/omadm, which is not configured/),
      expect.stringMatching(/4096 bytes/),
      'duplicate wake-up dup',
    ]);
    await until(() => w.polls() > polls); // the one good wake-up ran
    await publish(WAKE, encodeWake({ t: 'poll', id: 'after' }));
    await until(() => w.polls() > polls + 1);
    expect(agent.push?.state).toBe('connected');
    expect(dropped()).toHaveLength(5);
  });

  it('broker killed and restarted: reconnects with capped, jittered backoff; no QoS 1 wake-up lost (persistent session)', async () => {
    const persistent = await startPersistentMosquitto();
    cleanups.push(() => persistent.stop());
    const w = await world();
    const backoff = { initialMs: 200, maxMs: 800 };
    let agent = await w.start({ mqtt: { url: persistent.url, backoff } }, ['delivery']);
    let stopRun = start(agent);
    await until(() => connected(w).length === 1 && w.polls() >= 1);

    // 1. Broker dies: the agent backs off, growing to the cap, jittered into [delay/2, delay).
    await persistent.kill();
    const disconnects = () => w.events.filter((e) => e.family === 'push' && e.kind === 'disconnected');
    await until(() => disconnects().length >= 4);
    const delays = disconnects().map((e) => e.retryInMs as number);
    delays.forEach((delay, i) => {
      const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** i);
      expect(delay).toBeGreaterThanOrEqual(base / 2);
      expect(delay).toBeLessThanOrEqual(base);
    });
    expect(agent.push?.state).not.toBe('connected');

    // 2. Broker back (sessions restored from its persistence file): the agent resumes its session.
    await persistent.restart();
    await until(() => connected(w).length === 2);
    expect(connected(w)[1]).toMatchObject({ sessionPresent: true });

    // 3. The agent goes away; a QoS 1 wake-up is queued for its session; the broker restarts; the
    //    agent comes back and gets it.
    await stopRun();
    await agent.close();
    const polls = w.polls();
    let publish = await publisher(persistent.url);
    await publish(WAKE, encodeWake({ t: 'poll', id: 'while-away' }));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // autosave_interval 1 s; SIGTERM saves too
    await persistent.restart();
    agent = await w.start({ mqtt: { url: persistent.url, backoff } }, ['delivery']);
    stopRun = start(agent);
    await until(() => w.events.some((e) => e.family === 'push' && e.kind === 'wake' && e.id === 'while-away'));
    expect(connected(w).at(-1)).toMatchObject({ sessionPresent: true });
    await until(() => w.polls() > polls + 1); // its boot poll and the pushed one

    // 4. Published while the agent is in backoff (broker alive, agent not yet reconnected).
    await persistent.kill();
    await until(() => agent.push?.state === 'backoff').catch((e) => { console.log(agent.push?.state, JSON.stringify(w.events.filter((x) => x.family === 'push').slice(-6)), JSON.stringify(w.world.hardware.logs.slice(-6))); throw e; });
    await persistent.restart();
    publish = await publisher(persistent.url);
    await publish(WAKE, encodeWake({ t: 'poll', id: 'during-backoff' }));
    await until(() => w.events.some((e) => e.family === 'push' && e.kind === 'wake' && e.id === 'during-backoff'));
    await stopRun();
  });
});

function start(agent: Agent): () => Promise<void> {
  const run = agent.run();
  return async () => {
    agent.stop();
    await run;
  };
}

/** CBOR a schema would refuse, encoded without the schema (encodeWake validates). */
function encodeCborRaw(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(value)).length === 0 ? [] : cborMap(value as Record<string, string>));
}

function cborMap(value: Record<string, string>): number[] {
  const entries = Object.entries(value);
  const text = (s: string) => [0x60 + s.length, ...Buffer.from(s)];
  return [0xa0 + entries.length, ...entries.flatMap(([k, v]) => [...text(k), ...text(v)])];
}

async function retained(url: string, topic: string): Promise<string> {
  const client = await mqtt.connectAsync(url, { clientId: `test-sub-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 0 });
  try {
    const got = new Promise<string>((resolve) => client.on('message', (_t, payload) => resolve(payload.toString())));
    await client.subscribeAsync(topic, { qos: 1 });
    return await got;
  } finally {
    await client.endAsync();
  }
}
