/**
 * The shared `Net` suite: written once against the HAL contract, run against every implementation
 * (mock network, Node, later the QuickJS bridge). The fixture supplies the world around the net —
 * servers, faults, a broker — so the tests here never know which implementation they drive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, InvalidOptionsError, NetworkError } from '../../../hal/errors.ts';
import type { MockHttpHandler } from '../../../hal/mock/net.ts';
import type { Net } from '../../../hal/types.ts';
import { describeHttpTests } from './net-http.ts';
import { describeMqttTests } from './net-mqtt.ts';

export interface ClosableNet extends Net {
  close(): void | Promise<void>;
}

/** A fault on the serving side, done for real by the fixture (socket destroyed, server silent, …). */
export type NetSuiteFault =
  | { kind: 'reset'; afterBytes: number }
  | { kind: 'partialBody'; bytes: number }
  | { kind: 'stall'; afterBytes?: number };

export interface NetWorld {
  /** The net under test; stays open for the whole suite. */
  net: ClosableNet;
  /** A fresh, independent net of the same implementation (close tests, second clients). */
  createNet(): ClosableNet;
  /** Serves `handler`; resolves to its origin (`http://host:port`). */
  serve(handler: MockHttpHandler): Promise<string>;
  /** The next request to `origin` meets `fault`. */
  injectFault(origin: string, fault: NetSuiteFault): void;
  /** A URL where nothing accepts connections. */
  refusedUrl: string;
  /** Serves `handler` over HTTPS with a certificate `net` does not trust; also returns a net that does. */
  serveTls(handler: MockHttpHandler): Promise<{ origin: string; trustingNet: Net }>;
  dns: {
    /** A name with an A record containing `address`. */
    name: string;
    address: string;
    /** A name that certainly does not exist. */
    missing: string;
    /** What `dns.domain()` must report. */
    domain: string;
  };
  mqtt: {
    url: string;
    /** A broker URL where nothing listens. */
    refusedUrl: string;
    /** Makes the broker drop a client (fault injection or a session takeover). */
    kick(clientId: string): Promise<void>;
  };
  teardown(): Promise<void>;
}

export interface NetFixture {
  /** Appears in test names: `mock`, `node`. */
  name: string;
  setup(): Promise<NetWorld>;
}

export function describeNetSuite(fixture: NetFixture): void {
  describe(`Net (${fixture.name})`, () => {
    let current: NetWorld | undefined;
    const world = (): NetWorld => {
      if (!current) throw new Error('net fixture not set up');
      return current;
    };
    beforeAll(async () => {
      current = await fixture.setup();
    });
    afterAll(async () => {
      await current?.teardown();
    });

    describeHttpTests(world);
    describeDnsTests(world);
    describeMqttTests(world);
    describeCloseTests(world);
  });
}

function describeDnsTests(world: () => NetWorld): void {
  describe('dns', () => {
    it('resolves A records', async () => {
      const { net, dns } = world();
      expect(await net.dns.resolve(dns.name, 'A')).toContain(dns.address);
    });

    it.each(['A', 'AAAA', 'SRV', 'TXT'] as const)('a missing name is notFound (%s)', async (type) => {
      const { net, dns } = world();
      await expect(net.dns.resolve(dns.missing, type as 'A')).rejects.toMatchObject({ name: 'NetworkError', code: 'notFound' });
    });

    it('reports the search domain', async () => {
      const { net, dns } = world();
      expect(await net.dns.domain()).toBe(dns.domain);
    });

    it('rejects an unknown record type and an empty name', async () => {
      const { net, dns } = world();
      await expect(net.dns.resolve(dns.name, 'MX' as 'A')).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(net.dns.resolve('', 'A')).rejects.toBeInstanceOf(InvalidOptionsError);
    });
  });
}

function describeCloseTests(world: () => NetWorld): void {
  describe('close', () => {
    it('is idempotent, closes open connections and makes every later call throw ClosedError', async () => {
      const { createNet, mqtt, dns, refusedUrl } = world();
      const net = createNet();
      const connection = await net.mqtt.connect({ url: mqtt.url, clientId: `close-${Math.random().toString(36).slice(2)}` });
      const causes: unknown[] = [];
      connection.onClose((cause) => causes.push(cause));
      await net.close();
      await net.close();
      expect(causes).toEqual([undefined]); // a close we asked for has no cause
      await expect(connection.publish('dm/closed', new Uint8Array([1]))).rejects.toBeInstanceOf(ClosedError);
      await expect(net.http.request({ method: 'GET', url: refusedUrl })).rejects.toBeInstanceOf(ClosedError);
      await expect(net.dns.resolve(dns.name, 'A')).rejects.toBeInstanceOf(ClosedError);
      await expect(net.dns.domain()).rejects.toBeInstanceOf(ClosedError);
      await expect(net.mqtt.connect({ url: mqtt.url, clientId: 'after-close' })).rejects.toBeInstanceOf(ClosedError);
    });

    it('fails an in-flight transfer when the net closes', async () => {
      const { createNet, serve } = world();
      const origin = await serve(async () => ({ status: 200, body: new Uint8Array(512 * 1024) }));
      const net = createNet();
      const response = await net.http.request({ method: 'GET', url: `${origin}/big` });
      const iterator = response.body[Symbol.asyncIterator]();
      await iterator.next();
      await net.close();
      const error = await drain(iterator).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NetworkError);
      expect((error as NetworkError).code).toBe('aborted');
    });
  });
}

/** Reads an iterator to its end (bounded by the body size of the test). */
async function drain(iterator: AsyncIterator<Uint8Array>): Promise<number> {
  let total = 0;
  for (let result = await iterator.next(); !result.done; result = await iterator.next()) total += result.value.length;
  return total;
}
