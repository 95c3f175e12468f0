// Mock-network specifics the shared Net suite cannot express: a virtual clock, fault rules and
// their matching, the request log, scripted DNS, and the broker's fault-injection controls.
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, NetworkError } from '../hal/errors.ts';
import { createMockNetwork, type MockHttpHandler } from '../hal/mock/net.ts';
import type { Clock, HttpResponse, MqttConnection, MqttMessage } from '../hal/types.ts';
import { utf8Decode, utf8Encode } from '../agent/util/bytes.ts';

/** A minimal virtual clock: timers fire only when the test advances time. */
function virtualClock(): Clock & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    monotonicMs: () => now,
    utcMs: () => now,
    setTimer(callback, delayMs) {
      timers.set(next, { at: now + delayMs, callback });
      return next++;
    },
    clearTimer: (handle) => void timers.delete(handle),
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}

/** Lets every queued promise continuation run (a macrotask boundary). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tracks a promise's state without awaiting it. */
function watch<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const status: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (status.state = 'resolved'),
    (error: unknown) => Object.assign(status, { state: 'rejected', error }),
  );
  return status;
}

const bytesOf = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i & 255);
const serveBytes = (body: Uint8Array): MockHttpHandler => async () => ({ status: 200, body });

async function chunkSizes(response: HttpResponse): Promise<number[]> {
  const sizes: number[] = [];
  for await (const chunk of response.body) sizes.push(chunk.length);
  return sizes;
}

describe('mock network: virtual clock', () => {
  it('a stalled request times out exactly when the clock passes timeoutMs', async () => {
    const clock = virtualClock();
    const network = createMockNetwork({ clock });
    network.route('http://m.test', serveBytes(bytesOf(10)));
    network.fault({ kind: 'stall' });
    const status = watch(network.net.http.request({ method: 'GET', url: 'http://m.test/x', timeoutMs: 1000 }));
    clock.advance(999);
    await settle();
    expect(status.state).toBe('pending');
    clock.advance(1);
    await settle();
    expect(status).toMatchObject({ state: 'rejected', error: { code: 'timeout' } });
    expect(clock.pending()).toBe(0); // no timer left behind
  });

  it('a consumer slow to ask for the body is not a stall; each wait still gets its full timeoutMs', async () => {
    const clock = virtualClock();
    const network = createMockNetwork({ clock, chunkSize: 4 });
    network.route('http://m.test', serveBytes(bytesOf(8)));
    network.fault({ kind: 'stall', afterBytes: 4 });
    const response = await network.net.http.request({ method: 'GET', url: 'http://m.test/x', timeoutMs: 100 });
    clock.advance(1000); // nobody waits: the idle timer fires and stops
    await settle();
    const iterator = response.body[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.length).toBe(4);
    clock.advance(30);
    const stalled = watch(iterator.next()); // begins at 1030: times out at 1130, not earlier
    clock.advance(99);
    await settle();
    expect(stalled.state).toBe('pending');
    clock.advance(1);
    await settle();
    expect(stalled).toMatchObject({ state: 'rejected', error: { code: 'timeout' } });
    expect(clock.pending()).toBe(0);
  });

  it('latency delays the headers; a stall mid-body times out on the virtual clock', async () => {
    const clock = virtualClock();
    const network = createMockNetwork({ clock, latencyMs: 50, chunkSize: 100 });
    network.route('http://m.test', serveBytes(bytesOf(1000)));
    network.fault({ kind: 'stall', afterBytes: 300 });
    const request = network.net.http.request({ method: 'GET', url: 'http://m.test/x', timeoutMs: 500 });
    const status = watch(request);
    await settle();
    expect(status.state).toBe('pending');
    clock.advance(50);
    const response = await request;
    const iterator = response.body[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) expect((await iterator.next()).value?.length).toBe(100);
    const stalled = watch(iterator.next());
    clock.advance(499);
    await settle();
    expect(stalled.state).toBe('pending');
    clock.advance(1);
    await settle();
    expect(stalled).toMatchObject({ state: 'rejected', error: { code: 'timeout' } });
    expect(network.requests[0]).toMatchObject({ bytes: 300, fault: 'stall', error: 'timeout', status: 200 });
  });
});

describe('mock network: HTTP faults and routing', () => {
  it('streams in chunkSize pieces and records each request', async () => {
    const network = createMockNetwork({ chunkSize: 10 });
    network.route('http://m.test:8080', async (request) => ({ status: 201, headers: { 'X-Seen': request.headers['x-token'] ?? '' }, body: bytesOf(95) }));
    const response = await network.net.http.request({ method: 'POST', url: 'http://m.test:8080/up', headers: { 'X-Token': 't' }, body: bytesOf(7) });
    expect(response.headers['x-seen']).toBe('t');
    expect(await chunkSizes(response)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(network.requests).toEqual([
      { client: 'device', method: 'POST', url: 'http://m.test:8080/up', headers: { 'x-token': 't', 'content-length': '7' }, requestBytes: 7, status: 201, bytes: 95 },
    ]);
  });

  it('keeps the latest requestLog requests (none with 0), still serving every one', async () => {
    for (const [requestLog, kept] of [[2, ['/c', '/d']], [0, []]] as const) {
      const network = createMockNetwork({ requestLog });
      network.route('http://m.test', async () => ({ status: 200, body: bytesOf(3) }));
      for (const path of ['/a', '/b', '/c', '/d']) expect(await (await network.net.http.request({ method: 'GET', url: `http://m.test${path}` })).bytes()).toHaveLength(3);
      expect(network.requests.map((r) => new URL(r.url).pathname)).toEqual(kept);
    }
    expect(() => createMockNetwork({ requestLog: -1 })).toThrow(InvalidOptionsError);
  });

  it('reset delivers exactly afterBytes; partialBody defaults to half the Content-Length', async () => {
    const network = createMockNetwork({ chunkSize: 64 });
    network.route('http://m.test', serveBytes(bytesOf(1000)));
    network.fault({ kind: 'reset', afterBytes: 130 });
    const reset = await network.net.http.request({ method: 'GET', url: 'http://m.test/a' });
    const sizes: number[] = [];
    const error = await (async () => {
      for await (const chunk of reset.body) sizes.push(chunk.length);
    })().catch((caught: unknown) => caught);
    expect(sizes).toEqual([64, 64, 2]);
    expect(error).toMatchObject({ code: 'reset' });
    network.fault({ kind: 'partialBody' });
    const partial = await network.net.http.request({ method: 'GET', url: 'http://m.test/b' });
    await expect(partial.bytes()).rejects.toMatchObject({ code: 'reset' });
    expect(network.requests[1]).toMatchObject({ bytes: 500, fault: 'partialBody', error: 'reset' });
  });

  it('status faults answer without the handler, `times` times', async () => {
    const network = createMockNetwork();
    let calls = 0;
    network.route('http://m.test', async () => ({ status: 200, body: utf8Encode(`call ${++calls}`) }));
    network.fault({ kind: 'status', status: 503, headers: { 'retry-after': '5' }, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await network.net.http.request({ method: 'GET', url: 'http://m.test/' });
      statuses.push(response.status);
      await response.bytes();
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(calls).toBe(1);
  });

  it('matches rules by method, URL substring, client and predicate; removers and clearFaults work', async () => {
    const network = createMockNetwork();
    network.route('http://m.test', serveBytes(new Uint8Array(0)));
    const other = network.attach({ name: 'other' });
    network.fault({ kind: 'refuse', method: 'POST', times: Infinity });
    network.fault({ kind: 'dnsFail', url: '/dns', client: 'other', times: Infinity });
    const remove = network.fault({ kind: 'tls', predicate: (target) => target.headers['x-tls'] === 'yes', times: Infinity });
    const get = (net = network.net, path = '/', headers: Record<string, string> = {}) => net.http.request({ method: 'GET', url: `http://m.test${path}`, headers });
    await expect(network.net.http.request({ method: 'POST', url: 'http://m.test/' })).rejects.toMatchObject({ code: 'refused' });
    expect((await get()).status).toBe(200);
    expect((await get(network.net, '/dns')).status).toBe(200);
    await expect(get(other, '/dns')).rejects.toMatchObject({ code: 'notFound' });
    await expect(get(network.net, '/', { 'x-tls': 'yes' })).rejects.toMatchObject({ code: 'tls' });
    remove();
    expect((await get(network.net, '/', { 'x-tls': 'yes' })).status).toBe(200);
    network.clearFaults();
    expect((await network.net.http.request({ method: 'POST', url: 'http://m.test/' })).status).toBe(200);
  });

  it('normalizes origins, refuses unknown or unrouted ones, and answers 500 for a throwing handler', async () => {
    const network = createMockNetwork();
    network.route('HTTP://M.test:80/', async () => {
      throw new Error('handler bug');
    });
    const response = await network.net.http.request({ method: 'GET', url: 'http://m.test/x' });
    expect(response.status).toBe(500);
    expect((network.requests[0]?.handlerError as Error).message).toBe('handler bug');
    network.unroute('http://m.test');
    await expect(network.net.http.request({ method: 'GET', url: 'http://m.test/x' })).rejects.toMatchObject({ code: 'refused' });
    expect(() => network.route('http://m.test/path', serveBytes(new Uint8Array(0)))).toThrow(InvalidOptionsError);
  });

  it('a body can be iterated once; HEAD has none but keeps Content-Length', async () => {
    const network = createMockNetwork();
    network.route('http://m.test', serveBytes(bytesOf(40)));
    const head = await network.net.http.request({ method: 'HEAD', url: 'http://m.test/' });
    expect(head.headers['content-length']).toBe('40');
    expect((await head.bytes()).length).toBe(0);
    const get = await network.net.http.request({ method: 'GET', url: 'http://m.test/' });
    await get.bytes();
    expect(() => get.body[Symbol.asyncIterator]()).toThrow(NetworkError);
  });

  it('validates its options and fault rules', () => {
    expect(() => createMockNetwork({ chunkSize: 0 })).toThrow(InvalidOptionsError);
    expect(() => createMockNetwork({ brokerUrl: 'http://x' })).toThrow(InvalidOptionsError);
    const network = createMockNetwork();
    expect(() => network.fault({ kind: 'reset', afterBytes: -1 })).toThrow(InvalidOptionsError);
    expect(() => network.fault({ kind: 'status', status: 42 })).toThrow(InvalidOptionsError);
    expect(() => network.fault({ kind: 'refuse', times: 0 })).toThrow(InvalidOptionsError);
  });
});

describe('mock network: DNS', () => {
  it('serves every record type, case-insensitively, as copies; removal and dnsFail give notFound', async () => {
    const network = createMockNetwork();
    const { dns } = network.net;
    network.setDns('Svc.Example.test', 'SRV', [{ name: 'dm.example.test', port: 443, priority: 10, weight: 5 }]);
    network.setDns('example.test', 'TXT', [['v=dm1', 'k=x']]);
    network.setDns('dm.example.test', 'AAAA', ['fd00::1']);
    expect(await dns.resolve('svc.example.test.', 'SRV')).toEqual([{ name: 'dm.example.test', port: 443, priority: 10, weight: 5 }]);
    const txt = await dns.resolve('example.test', 'TXT');
    txt[0]!.push('mutated');
    expect(await dns.resolve('example.test', 'TXT')).toEqual([['v=dm1', 'k=x']]);
    expect(await dns.resolve('dm.example.test', 'AAAA')).toEqual(['fd00::1']);
    await expect(dns.resolve('dm.example.test', 'A')).rejects.toMatchObject({ code: 'notFound' });
    network.fault({ kind: 'dnsFail', url: 'dns://dm.example.test/' });
    await expect(dns.resolve('dm.example.test', 'AAAA')).rejects.toMatchObject({ code: 'notFound' });
    expect(await dns.resolve('dm.example.test', 'AAAA')).toEqual(['fd00::1']); // the rule was used up
    network.setDns('dm.example.test', 'AAAA', undefined);
    await expect(dns.resolve('dm.example.test', 'AAAA')).rejects.toMatchObject({ code: 'notFound' });
    expect(await dns.domain()).toBeUndefined();
    network.setDomain('corp.test');
    expect(await dns.domain()).toBe('corp.test');
  });
});

describe('mock network: MQTT broker controls', () => {
  const url = 'mqtt://broker.test:1883';
  function inbox(connection: MqttConnection): MqttMessage[] {
    const messages: MqttMessage[] = [];
    connection.onMessage((message) => messages.push(message));
    return messages;
  }

  it('disconnectClient keeps a persistent session: QoS 1 is queued while away, QoS 0 is not', async () => {
    const network = createMockNetwork();
    const { mqtt } = network.net;
    const device = await mqtt.connect({ url, clientId: 'dev', cleanSession: false });
    await device.subscribe('cmd/#', { qos: 1 });
    const causes: unknown[] = [];
    device.onClose((cause) => causes.push(cause));
    expect(network.disconnectClient('dev')).toBe(true);
    expect(causes).toEqual([expect.objectContaining({ code: 'reset' })]);
    expect(network.connectedClients()).toEqual([]);
    const server = await mqtt.connect({ url, clientId: 'srv' });
    await server.publish('cmd/a', utf8Encode('q1'), { qos: 1 });
    await server.publish('cmd/b', utf8Encode('q0'), { qos: 0 });
    const back = await mqtt.connect({ url, clientId: 'dev', cleanSession: false });
    expect(back.sessionPresent).toBe(true);
    const messages = inbox(back); // registered after connect: held messages still arrive
    await settle();
    expect(messages.map((m) => utf8Decode(m.payload))).toEqual(['q1']);
    expect(network.published.map((m) => [m.clientId, m.topic])).toEqual([
      ['srv', 'cmd/a'],
      ['srv', 'cmd/b'],
    ]);
  });

  it('a second connection with the same client id takes the session over', async () => {
    const network = createMockNetwork();
    const first = await network.net.mqtt.connect({ url, clientId: 'same' });
    const causes: unknown[] = [];
    first.onClose((cause) => causes.push(cause));
    await network.attach({ name: 'twin' }).mqtt.connect({ url, clientId: 'same' });
    expect(causes).toEqual([expect.objectContaining({ code: 'reset' })]);
    expect(network.connectedClients()).toEqual(['same']);
  });

  it('offline broker drops everyone and refuses; wrong broker URL is refused', async () => {
    const network = createMockNetwork();
    const connection = await network.net.mqtt.connect({ url, clientId: 'a' });
    const closed = watch(new Promise((resolve) => connection.onClose(resolve)));
    network.setBrokerOnline(false);
    await settle();
    expect(closed.state).toBe('resolved');
    await expect(network.net.mqtt.connect({ url, clientId: 'a' })).rejects.toMatchObject({ code: 'refused' });
    network.setBrokerOnline(true);
    await (await network.net.mqtt.connect({ url, clientId: 'a' })).close();
    await expect(network.net.mqtt.connect({ url: 'mqtt://other.test:1883', clientId: 'a' })).rejects.toMatchObject({ code: 'refused' });
  });

  it('overlapping subscriptions deliver once at the highest QoS; # does not match $ topics', async () => {
    const network = createMockNetwork();
    const subscriber = await network.net.mqtt.connect({ url, clientId: 's' });
    const messages = inbox(subscriber);
    await subscriber.subscribe('a/#', { qos: 0 });
    await subscriber.subscribe('a/+', { qos: 1 });
    await subscriber.subscribe('#');
    await subscriber.publish('a/b', utf8Encode('x'), { qos: 1 });
    await subscriber.publish('$SYS/load', utf8Encode('y'));
    await settle();
    expect(messages.map((m) => [m.topic, m.qos])).toEqual([['a/b', 1]]);
  });

  it('closing an attached net closes only its own connections', async () => {
    const network = createMockNetwork();
    const other = network.attach({ name: 'other' });
    await network.net.mqtt.connect({ url, clientId: 'mine' });
    await other.mqtt.connect({ url, clientId: 'theirs' });
    network.net.close();
    expect(network.connectedClients()).toEqual(['theirs']);
  });
});
