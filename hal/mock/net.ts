/**
 * An in-process network for the mock device: HTTP routes served by handler functions, a scripted
 * DNS zone, an in-memory MQTT broker, and fault injection — no sockets, so it also runs inside
 * QuickJS. Portable: imports only the HAL contract, its errors and agent/util.
 *
 * The network outlives devices: `attach()` gives each (re)booted device its own `Net`, whose
 * `close()` ends that device's transfers and broker connections while servers, broker sessions and
 * retained messages stay, as they would across a real reboot.
 */
import { ClosedError, InvalidOptionsError, NetworkError } from '../errors.ts';
import type { Clock, DnsRecordType, DnsSrvRecord, Net } from '../types.ts';
import { MockDnsZone, createMockDns } from './net-dns.ts';
import { FaultQueue, type MockFaultRule } from './net-faults.ts';
import { createMockHttpClient, originOf, type MockHttpHandler, type MockHttpHost, type MockNetSession, type MockRequestRecord } from './net-http.ts';
import { MockBroker, createMockMqtt, type MockMqttRecord } from './net-mqtt.ts';
import { MockUdpHub, createMockUdp } from './net-udp.ts';
import { hostTimers, type Exchange } from './net-wait.ts';

export type { MockFault, MockFaultKind, MockFaultMatch, MockFaultRule, MockFaultTarget } from './net-faults.ts';
export type { MockHttpHandler, MockHttpRequest, MockHttpResponse, MockRequestRecord } from './net-http.ts';
export type { MockMqttRecord } from './net-mqtt.ts';

export interface MockNetworkOptions {
  /** Drives timeouts and latency. Pass the mock device's virtual clock; real timers otherwise. */
  clock?: Clock;
  /** Largest response body chunk a client receives (default 16 KiB). */
  chunkSize?: number;
  /** Delay before every response's headers (default 0). */
  latencyMs?: number;
  /** The broker's address (default `mqtt://broker.test:1883`). */
  brokerUrl?: string;
  /**
   * How many of the latest requests `requests` keeps (default: every one). A fleet simulation
   * (thousands of devices polling) keeps none: the log would be its biggest memory user.
   */
  requestLog?: number;
}

/** A device's view of the network. */
export interface MockNet extends Net {
  readonly name: string;
  /** Idempotent. Fails in-flight requests (`aborted`), closes MQTT connections; later calls throw `ClosedError`. */
  close(): void;
}

export interface MockNetwork {
  /** The net of the first attached device (named `device`). */
  readonly net: MockNet;
  /** Attaches another device (or the same one after a reboot) under `name`, which fault rules can match. */
  attach(options?: { name?: string }): MockNet;

  /** Serves `origin` (`http://manager.test:8080`) with `handler`; replaces an earlier route. */
  route(origin: string, handler: MockHttpHandler): void;
  unroute(origin: string): void;
  /** Every request so far (the latest `requestLog` of them), in order, updated while bodies stream. */
  readonly requests: MockRequestRecord[];

  /** Queues a fault rule; returns a function that removes it. */
  fault(rule: MockFaultRule): () => void;
  clearFaults(): void;

  /** Sets (or with `undefined` removes) the records of a name. */
  setDns(hostname: string, type: 'A' | 'AAAA', records: string[] | undefined): void;
  setDns(hostname: string, type: 'SRV', records: DnsSrvRecord[] | undefined): void;
  setDns(hostname: string, type: 'TXT', records: string[][] | undefined): void;
  /** The search domain `dns.domain()` reports (as handed out by DHCP). */
  setDomain(domain: string | undefined): void;

  readonly brokerUrl: string;
  /** Drops a client's broker connection (its `onClose` fires with a `reset` cause); returns whether it was connected. */
  disconnectClient(clientId: string): boolean;
  /** Offline drops every connection and refuses new ones. */
  setBrokerOnline(online: boolean): void;
  connectedClients(): string[];
  /** Every message published to the broker, in order. */
  readonly published: MockMqttRecord[];
}

export function createMockNetwork(options: MockNetworkOptions = {}): MockNetwork {
  validateOptions(options);
  const routes = new Map<string, MockHttpHandler>();
  const faults = new FaultQueue();
  const zone = new MockDnsZone();
  const broker = new MockBroker(options.brokerUrl ?? 'mqtt://broker.test:1883');
  const udpHub = new MockUdpHub();
  const host: MockHttpHost = {
    timers: options.clock ?? hostTimers(),
    chunkSize: options.chunkSize ?? 16 * 1024,
    latencyMs: options.latencyMs ?? 0,
    faults,
    requests: [],
    requestLog: options.requestLog ?? Infinity,
    handlerFor: (origin) => routes.get(origin),
  };

  const attach = (attachOptions: { name?: string } = {}): MockNet => {
    const name = attachOptions.name ?? 'device';
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionsError('attach: name must be a non-empty string');
    const session = new AttachedNet(name);
    return {
      name,
      http: createMockHttpClient(host, session),
      dns: createMockDns(zone, faults, session),
      mqtt: createMockMqtt(broker, session),
      udp: createMockUdp(udpHub, () => session.ensureOpen(), (socket) => session.hold(socket)),
      close: () => session.close(),
    };
  };

  const net = attach();
  return {
    net,
    attach,
    route(origin, handler) {
      if (typeof handler !== 'function') throw new InvalidOptionsError('route: handler must be a function');
      routes.set(routeKey(origin), handler);
    },
    unroute(origin) {
      routes.delete(routeKey(origin));
    },
    requests: host.requests,
    fault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    setDns: ((hostname: string, type: DnsRecordType, records: string[] | DnsSrvRecord[] | string[][] | undefined) =>
      zone.set(hostname, type, records)) as MockNetwork['setDns'],
    setDomain(domain) {
      if (domain !== undefined && (typeof domain !== 'string' || domain.length === 0)) throw new InvalidOptionsError('setDomain: domain must be a non-empty string');
      zone.domain = domain;
    },
    brokerUrl: broker.url,
    disconnectClient: (clientId) => broker.disconnectClient(clientId),
    setBrokerOnline: (online) => broker.setOnline(online),
    connectedClients: () => broker.connectedClients(),
    published: broker.log,
  };
}

/** One attached device's resources, so closing its net ends exactly what it opened. */
class AttachedNet implements MockNetSession {
  readonly name: string;
  readonly #exchanges = new Set<Exchange>();
  readonly #resources = new Set<{ close(): void }>();
  #closed = false;

  constructor(name: string) {
    this.name = name;
  }

  ensureOpen(): void {
    if (this.#closed) throw new ClosedError('net');
  }

  track(exchange: Exchange): () => void {
    this.#exchanges.add(exchange);
    return () => this.#exchanges.delete(exchange);
  }

  hold(resource: { close(): void }): () => void {
    this.#resources.add(resource);
    return () => this.#resources.delete(resource);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const exchange of [...this.#exchanges]) exchange.fail(new NetworkError('aborted', 'net closed'));
    for (const resource of [...this.#resources]) resource.close();
    this.#exchanges.clear();
    this.#resources.clear();
  }
}

/** Routes are keyed by normalized origin, so `http://a.test:80` and `http://a.test/` are the same route. */
function routeKey(origin: string): string {
  const parsed = typeof origin === 'string' && /^https?:\/\/[^/?#@\s]+\/?$/i.test(origin) ? originOf(origin) : undefined;
  if (!parsed) throw new InvalidOptionsError(`route: origin must look like http://host:port, got ${String(origin)}`);
  return parsed.origin;
}

function validateOptions(options: MockNetworkOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('createMockNetwork: options must be an object');
  const { clock, chunkSize, latencyMs, requestLog } = options;
  if (clock !== undefined && (typeof clock.setTimer !== 'function' || typeof clock.clearTimer !== 'function'))
    throw new InvalidOptionsError('createMockNetwork: clock must implement setTimer/clearTimer');
  if (chunkSize !== undefined && !(Number.isInteger(chunkSize) && chunkSize > 0)) throw new InvalidOptionsError('createMockNetwork: chunkSize must be a positive integer');
  if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && latencyMs >= 0)) throw new InvalidOptionsError('createMockNetwork: latencyMs must be a non-negative integer');
  if (requestLog !== undefined && !(Number.isInteger(requestLog) && requestLog >= 0)) throw new InvalidOptionsError('createMockNetwork: requestLog must be a non-negative integer');
}
