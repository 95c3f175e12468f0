import { ClosedError, InvalidOptionsError, NetworkError } from '../errors.ts';
import { validateMqttOptions } from '../shared/mqtt-options.ts';
import type { MqttClient, MqttConnectOptions, MqttConnection, MqttMessage, MqttQos, MqttWill } from '../types.ts';
import type { MockNetSession } from './net-http.ts';
import { topicMatches, validateTopicFilter, validateTopicName } from './net-mqtt-topics.ts';

/** One PUBLISH the broker accepted, for assertions. */
export interface MockMqttRecord extends MqttMessage {
  clientId: string;
}

interface BrokerSession {
  clientId: string;
  /** false for cleanSession connections: dropped when their connection ends. */
  persistent: boolean;
  subscriptions: Map<string, MqttQos>;
  /** QoS 1 messages for a persistent session while it is offline (QoS 0 is not queued, as mosquitto). */
  queue: MqttMessage[];
  connection: MockMqttConnection | undefined;
}

/** Like mosquitto's max_queued_messages: an offline session does not grow without bound. */
const MAX_QUEUED = 1000;

/** An in-memory MQTT 3.1.1 broker: QoS 0/1, retained messages, wildcards, persistent sessions. */
export class MockBroker {
  readonly url: string;
  readonly log: MockMqttRecord[] = [];
  readonly #sessions = new Map<string, BrokerSession>();
  readonly #retained = new Map<string, MqttMessage>();
  #online = true;

  constructor(url: string) {
    const normalized = normalizeBrokerUrl(url);
    if (!normalized) throw new InvalidOptionsError('brokerUrl must be mqtt://host:port or mqtts://host:port');
    this.url = normalized;
  }

  connectedClients(): string[] {
    return [...this.#sessions.values()].filter((session) => session.connection).map((session) => session.clientId);
  }

  /** Drops a client's connection as the broker would on a network fault; its session survives if persistent. */
  disconnectClient(clientId: string, cause: unknown = new NetworkError('reset', `broker dropped ${clientId}`)): boolean {
    const connection = this.#sessions.get(clientId)?.connection;
    connection?.drop(cause);
    return connection !== undefined;
  }

  /** Offline: every connection drops and new ones are refused, until set online again. */
  setOnline(online: boolean): void {
    this.#online = online;
    if (!online) for (const clientId of this.connectedClients()) this.disconnectClient(clientId, new NetworkError('reset', 'broker went offline'));
  }

  connect(options: MqttConnectOptions, net: MockNetSession): MockMqttConnection {
    if (!this.#online || normalizeBrokerUrl(options.url) !== this.url) throw new NetworkError('refused', `${options.url}: connection refused`);
    const clean = options.cleanSession ?? true;
    const existing = this.#sessions.get(options.clientId);
    // MQTT 3.1.1 §3.1.4: a second connection with the same client id takes the session over.
    existing?.connection?.drop(new NetworkError('reset', `session ${options.clientId} taken over by a new connection`));
    const resumed = !clean && existing !== undefined && existing.persistent;
    const session: BrokerSession = resumed ? existing : { clientId: options.clientId, persistent: !clean, subscriptions: new Map(), queue: [], connection: undefined };
    this.#sessions.set(options.clientId, session);
    const connection = new MockMqttConnection(this, session, resumed, options.protocolVersion ?? 4, net, options.will);
    session.connection = connection;
    for (const message of session.queue.splice(0)) connection.deliver(message);
    return connection;
  }

  /** @internal the connection ended (either side). */
  detach(session: BrokerSession, connection: MockMqttConnection): void {
    if (session.connection !== connection) return;
    session.connection = undefined;
    if (!session.persistent) this.#sessions.delete(session.clientId);
  }

  /** @internal */
  subscribe(session: BrokerSession, filter: string, qos: MqttQos): void {
    session.subscriptions.set(filter, qos);
    // Retained messages go to the new subscription only, flagged retain (§3.3.1.3).
    for (const message of this.#retained.values())
      if (topicMatches(filter, message.topic))
        session.connection?.deliver({ ...message, payload: message.payload.slice(), qos: Math.min(message.qos, qos) as MqttQos, retain: true });
  }

  /** @internal */
  unsubscribe(session: BrokerSession, filter: string): void {
    session.subscriptions.delete(filter);
  }

  /** @internal */
  publish(clientId: string, message: MqttMessage): void {
    this.log.push({ ...message, payload: message.payload.slice(), clientId });
    if (message.retain) {
      // A retained message with an empty payload clears the topic's retained message.
      if (message.payload.length === 0) this.#retained.delete(message.topic);
      else this.#retained.set(message.topic, { ...message, payload: message.payload.slice() });
    }
    for (const session of this.#sessions.values()) {
      let granted: MqttQos | undefined;
      for (const [filter, qos] of session.subscriptions)
        if (topicMatches(filter, message.topic) && (granted === undefined || qos > granted)) granted = qos;
      if (granted === undefined) continue;
      // Overlapping subscriptions deliver once, at the highest granted QoS.
      const delivery: MqttMessage = { topic: message.topic, payload: message.payload.slice(), qos: Math.min(message.qos, granted) as MqttQos, retain: false };
      if (session.connection) session.connection.deliver(delivery);
      else if (session.persistent && delivery.qos === 1) {
        session.queue.push(delivery);
        if (session.queue.length > MAX_QUEUED) session.queue.shift();
      }
    }
  }
}

class MockMqttConnection implements MqttConnection {
  readonly sessionPresent: boolean;
  /** The mock broker speaks both versions alike (no MQTT 5 properties). */
  readonly protocolVersion: 4 | 5;
  readonly #will: MqttWill | undefined;
  readonly #broker: MockBroker;
  readonly #session: BrokerSession;
  readonly #listeners = new Set<(message: MqttMessage) => void>();
  readonly #closeListeners = new Set<(cause?: unknown) => void>();
  readonly #release: () => void;
  /** Messages that arrive before the first listener is registered (e.g. queued ones right after connect). */
  #held: MqttMessage[] | undefined = [];
  #closed = false;
  #cause: unknown;

  constructor(broker: MockBroker, session: BrokerSession, sessionPresent: boolean, protocolVersion: 4 | 5, net: MockNetSession, will: MqttWill | undefined) {
    this.#broker = broker;
    this.#session = session;
    this.sessionPresent = sessionPresent;
    this.protocolVersion = protocolVersion;
    this.#will = will === undefined ? undefined : { ...will, payload: will.payload.slice() };
    this.#release = net.hold(this);
  }

  async subscribe(topic: string, options?: { qos?: MqttQos }): Promise<void> {
    this.#ensureOpen();
    validateTopicFilter(topic);
    const qos = validateQos(options?.qos);
    await Promise.resolve(); // SUBACK comes back asynchronously
    this.#ensureOpen();
    this.#broker.subscribe(this.#session, topic, qos);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.#ensureOpen();
    validateTopicFilter(topic);
    await Promise.resolve();
    this.#ensureOpen();
    this.#broker.unsubscribe(this.#session, topic);
  }

  async publish(topic: string, payload: Uint8Array, options?: { qos?: MqttQos; retain?: boolean }): Promise<void> {
    this.#ensureOpen();
    validateTopicName(topic);
    if (!(payload instanceof Uint8Array)) throw new InvalidOptionsError('mqtt: payload must be a Uint8Array');
    const qos = validateQos(options?.qos);
    const retain = options?.retain ?? false;
    if (typeof retain !== 'boolean') throw new InvalidOptionsError('mqtt: retain must be a boolean');
    const message: MqttMessage = { topic, payload: payload.slice(), qos, retain };
    await Promise.resolve();
    this.#ensureOpen();
    this.#broker.publish(this.#session.clientId, message);
  }

  onMessage(listener: (message: MqttMessage) => void): () => void {
    this.#listeners.add(listener);
    const held = this.#held;
    this.#held = undefined;
    if (held && held.length > 0) void Promise.resolve().then(() => held.forEach((message) => this.#dispatch(message)));
    return () => this.#listeners.delete(listener);
  }

  onClose(listener: (cause?: unknown) => void): () => void {
    if (this.#closed) {
      // Registered too late to see it happen: still tell, once.
      void Promise.resolve().then(() => listener(this.#cause));
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(): void {
    this.#end(undefined);
  }

  /** @internal the broker side ends the connection (fault, takeover, offline). */
  drop(cause: unknown): void {
    this.#end(cause);
  }

  /** @internal a message for this client; delivered asynchronously and in order. */
  deliver(message: MqttMessage): void {
    if (this.#closed) return;
    void Promise.resolve().then(() => {
      if (this.#closed) return;
      if (this.#held) {
        this.#held.push(message);
        if (this.#held.length > MAX_QUEUED) this.#held.shift();
      } else this.#dispatch(message);
    });
  }

  #dispatch(message: MqttMessage): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener({ ...message, payload: message.payload.slice() });
      } catch (error) {
        // One faulty listener must not starve the others; surface it as an unhandled rejection.
        void Promise.reject(error);
      }
    }
  }

  #end(cause: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cause = cause;
    this.#release();
    this.#broker.detach(this.#session, this);
    // A lost connection (not a DISCONNECT) makes the broker publish the Last Will.
    if (cause !== undefined && this.#will) this.#broker.publish(this.#session.clientId, { topic: this.#will.topic, payload: this.#will.payload, qos: this.#will.qos ?? 0, retain: this.#will.retain ?? false });
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) listener(cause);
  }

  #ensureOpen(): void {
    if (this.#closed) throw new ClosedError('mqtt connection');
  }
}

export function createMockMqtt(broker: MockBroker, net: MockNetSession): MqttClient {
  return {
    async connect(options: MqttConnectOptions): Promise<MqttConnection> {
      net.ensureOpen();
      validateConnectOptions(options);
      await Promise.resolve(); // CONNACK is never synchronous
      net.ensureOpen();
      return broker.connect(options, net);
    },
  };
}

function validateQos(qos: MqttQos | undefined): MqttQos {
  if (qos === undefined) return 0;
  if (qos !== 0 && qos !== 1) throw new InvalidOptionsError('mqtt: qos must be 0 or 1');
  return qos;
}

export function normalizeBrokerUrl(url: string): string | undefined {
  const match = typeof url === 'string' ? /^(mqtts?):\/\/([^/?#@\s:]+)(?::(\d+))?\/?$/i.exec(url) : null;
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  return `${scheme}://${match[2]!.toLowerCase()}:${match[3] ?? (scheme === 'mqtts' ? '8883' : '1883')}`;
}

function validateConnectOptions(options: MqttConnectOptions): void {
  validateMqttOptions(options);
  if (!normalizeBrokerUrl(options.url)) throw new InvalidOptionsError('mqtt.connect: url must be mqtt://host:port or mqtts://host:port');
}
