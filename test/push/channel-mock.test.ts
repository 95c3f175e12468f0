/**
 * The push channel's parts on the mock HAL (no sockets): the config section, the wake-up format,
 * the Last Will and the retained status, the 3.1.1 fallback, and that an agent without a `push`
 * section never touches the MQTT facet.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../agent/config.ts';
import { createAgent } from '../../agent/index.ts';
import { PushChannel } from '../../agent/push/channel.ts';
import { parsePushConfig } from '../../agent/push/config.ts';
import { decodeWake, deviceTopics, encodeWake, PushMessageError } from '../../agent/push/message.ts';
import { PushRouter } from '../../agent/push/router.ts';
import { createAbort } from '../../agent/util/abort.ts';
import { NetworkError } from '../../hal/errors.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork } from '../../hal/mock/net.ts';
import type { MqttClient } from '../../hal/types.ts';
import { sim } from '../e2e/harness.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const realClock = { setTimer: (fn: () => void, ms: number) => setTimeout(fn, ms) as unknown as number, clearTimer: (id: number) => clearTimeout(id) };
const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('push config and wire format', () => {
  it('the push section is validated strictly, with defaults', () => {
    expect(parseConfig({ push: { mqtt: { url: 'mqtt://broker:1883' } } }).push).toEqual({ url: 'mqtt://broker:1883', topicPrefix: 'dm', protocol: 'auto', keepAliveMs: 60_000, backoff: { initialMs: 1000, maxMs: 300_000, factor: 2 } });
    expect(() => parseConfig({ push: { mqtt: { url: 'http://broker' } } })).toThrow(/push\.mqtt\.url/);
    expect(() => parseConfig({ push: { mqtt: { url: 'mqtt://user:secret@broker' } } })).toThrow(/credentials go in username/);
    expect(() => parseConfig({ push: { mqtt: { url: 'mqtt://b', topicPrefix: 'a/#' } } })).toThrow(/topicPrefix/);
    expect(() => parseConfig({ push: { mqtt: { url: 'mqtt://b', colour: 1 } } })).toThrow(/push\.mqtt\.colour/);
    expect(() => parsePushConfig({ mqtt: { url: 'mqtt://b', backoff: { initialMs: 5000, maxMs: 10 } } })).toThrow(/maxMs/);
    expect(parseConfig({}).push).toBeUndefined();
  });

  it('wake-ups round-trip; anything else is a PushMessageError', () => {
    expect(decodeWake(encodeWake({ t: 'check', family: 'firmware', id: 'x1' }))).toEqual({ t: 'check', family: 'firmware', id: 'x1' });
    expect(() => encodeWake({ t: 'nap' } as never)).toThrow();
    for (const bad of [new Uint8Array([0xff]), new Uint8Array(300), encodeWake({ t: 'poll' }).subarray(0, 3), new Uint8Array([0x01])]) expect(() => decodeWake(bad)).toThrow(PushMessageError);
    expect(deviceTopics('IMEI:1/2+#', 'fleet/a')).toMatchObject({ wake: 'fleet/a/IMEI:1_2__/wake', broadcast: 'fleet/a/all/wake', status: 'fleet/a/IMEI:1_2__/status' });
  });
});

describe('push channel on the mock broker', () => {
  function channel(mqtt: MqttClient, wakes: string[], overrides: Partial<ReturnType<typeof parsePushConfig>> = {}) {
    const topics = deviceTopics('dev-1');
    const family = { name: 'delivery', prefixes: ['d/'], triggers: [], boot: async () => ({ pending: 0, setAside: 0 }), run: async () => ({}), status: () => ({ name: 'delivery', jobs: { active: 0, setAside: 0 }, outbox: 0, details: {} }) };
    const router = new PushRouter({ topics, families: [family], wake: (name) => void wakes.push(name), log: silent });
    const events: { kind: string; [k: string]: unknown }[] = [];
    const config = { ...parsePushConfig({ mqtt: { url: 'mqtt://broker.test:1883', backoff: { initialMs: 10, maxMs: 40 } } }), ...overrides };
    const push = new PushChannel({ mqtt, clock: realClock, random01: () => 0.5, log: silent, config, clientId: 'dm-agent-dev-1', topics, router, onEvent: (e) => void events.push(e) });
    return { push, events, topics };
  }

  it('announces online (retained); the broker publishes the Last Will "offline" when the connection is lost; it reconnects and resumes', async () => {
    const network = createMockNetwork();
    const wakes: string[] = [];
    const { push, events, topics } = channel(network.net.mqtt, wakes);
    const stop = createAbort();
    const running = push.run(stop.signal);
    await until(() => push.state === 'connected');
    const status = () => network.published.filter((m) => m.topic === topics.status).map((m) => `${new TextDecoder().decode(m.payload)}${m.retain ? ' (retained)' : ''}`);
    expect(status()).toEqual(['online (retained)']);
    network.disconnectClient('dm-agent-dev-1');
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    expect(status()).toEqual(['online (retained)', 'offline (retained)', 'online (retained)']);
    expect(events.filter((e) => e.kind === 'connected')[1]).toMatchObject({ sessionPresent: true });
    stop.abort();
    await running;
    expect(push.state).toBe('stopped');
    expect(status().at(-1)).toBe('offline (retained)'); // a clean stop says so itself (no Will on DISCONNECT)
  });

  it('falls back to MQTT 3.1.1 when the broker refuses version 5, and remembers it', async () => {
    const network = createMockNetwork();
    const versions: (number | undefined)[] = [];
    const mqtt: MqttClient = {
      async connect(options) {
        versions.push(options.protocolVersion);
        if (options.protocolVersion === 5) throw new NetworkError('protocol', 'unacceptable protocol version');
        return network.net.mqtt.connect(options);
      },
    };
    const { push } = channel(mqtt, []);
    const stop = createAbort();
    const running = push.run(stop.signal);
    await until(() => push.state === 'connected');
    network.disconnectClient('dm-agent-dev-1');
    await until(() => versions.length === 3);
    await until(() => push.state === 'connected');
    expect(versions).toEqual([5, 4, 4]);
    expect(push.protocolVersion).toBe(4);
    stop.abort();
    await running;
  });

  it('a stop does not wait for a broker that never answers; a connection arriving late is closed', async () => {
    let closed = 0;
    let arrive!: () => void;
    const mqtt: MqttClient = {
      connect: () =>
        new Promise((resolve) => {
          arrive = () => resolve({ close: async () => void closed++ } as never);
        }),
    };
    const { push } = channel(mqtt, []);
    const stop = createAbort();
    const running = push.run(stop.signal);
    await until(() => push.state === 'connecting');
    stop.abort();
    await running; // would hang with a connect awaited to the end
    expect(push.state).toBe('stopped');
    arrive();
    await until(() => closed === 1);
  });

  it('an agent without a push section never touches the MQTT facet', async () => {
    const hardware = new MockHardware({ ...mockOptionsFromBoard(sim), identity: { deviceId: 'dev-2', model: 'mock' } });
    const device = hardware.boot();
    await hardware.booted;
    let touched = 0;
    const guarded = { ...device, net: { ...device.net, mqtt: { connect: async () => { touched++; throw new Error('no'); } } } };
    const agent = await createAgent(guarded, sim, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: { internal: 'http://fw.test', external: 'http://fw.test' }, allowInsecure: true } });
    expect(agent.push).toBeUndefined();
    const run = agent.run();
    await new Promise((r) => setTimeout(r, 50));
    agent.stop();
    await run;
    await agent.close();
    expect(touched).toBe(0);
  });
});
