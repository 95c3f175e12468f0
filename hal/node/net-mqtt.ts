// Types only: mqtt.js (~160 ms to import) is loaded on the first connect, so a board without a push channel never pays for it.
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient as MqttJsClient } from 'mqtt';
import { ClosedError, HalError, InvalidOptionsError, NetworkError } from '../errors.ts';
import { validateMqttOptions } from '../shared/mqtt-options.ts';
import type { MqttClient, MqttConnectOptions, MqttConnection, MqttMessage, MqttQos } from '../types.ts';
import { loadOnce } from '../../agent/util/load-once.ts';
import { toNetworkError } from './net-errors.ts';

export interface NodeMqttOptions {
  ca?: string | Uint8Array;
  rejectUnauthorized: boolean;
  ensureOpen(): void;
}

const loadMqtt = loadOnce(() => import('mqtt'));

/** Messages held for a listener that is not registered yet; bounded like a broker queue. */
const MAX_HELD = 1000;

/**
 * A thin facade over mqtt.js v5. Auto-reconnect is off: the agent owns the reconnect policy (back
 * off, roam to another manager), so a lost connection is final and reported once via `onClose`.
 */
export class NodeMqtt implements MqttClient {
  readonly #options: NodeMqttOptions;
  readonly #connections = new Set<NodeMqttConnection>();

  constructor(options: NodeMqttOptions) {
    this.#options = options;
  }

  async connect(options: MqttConnectOptions): Promise<MqttConnection> {
    this.#options.ensureOpen();
    const url = validateConnectOptions(options);
    const keepAliveMs = options.keepAliveMs ?? 60_000;
    const settings: IClientOptions = {
      clientId: options.clientId,
      clean: options.cleanSession ?? true,
      // MQTT counts keepalive in whole seconds; round up so a small positive value stays enabled.
      keepalive: Math.ceil(keepAliveMs / 1000),
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs ?? 30_000,
      protocolVersion: options.protocolVersion ?? 4,
      resubscribe: false,
      rejectUnauthorized: this.#options.rejectUnauthorized,
    };
    // MQTT 5 ends a session at disconnect unless it has an expiry: "never" keeps 3.1.1's meaning of clean=false.
    if (settings.protocolVersion === 5 && settings.clean === false) settings.properties = { sessionExpiryInterval: 0xffffffff };
    if (options.will !== undefined) {
      const { topic, payload, qos, retain } = options.will;
      settings.will = { topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: qos ?? 0, retain: retain ?? false };
    }
    if (options.username !== undefined) settings.username = options.username;
    if (options.password !== undefined) settings.password = options.password;
    if (url.protocol === 'mqtts:' && this.#options.ca !== undefined)
      settings.ca = typeof this.#options.ca === 'string' ? this.#options.ca : Buffer.from(this.#options.ca);

    const { connect } = await loadMqtt();
    this.#options.ensureOpen();
    const client = connect(options.url, settings);
    // A resumed session's queued messages can arrive in the same read as the CONNACK, before the
    // connection object exists: catch them from the start and hand them over.
    const early: MqttMessage[] = [];
    const onEarly = (topic: string, payload: Buffer, packet: IPublishPacket): void => void early.push(toMessage(topic, payload, packet));
    client.on('message', onEarly);
    let connack: IConnackPacket;
    // Our own listeners only: mqtt.js keeps internal 'connect'/'close' listeners that must stay.
    let onConnect!: (packet: IConnackPacket) => void;
    let onError!: (error: Error) => void;
    let onClose!: () => void;
    try {
      connack = await new Promise<IConnackPacket>((resolve, reject) => {
        onConnect = resolve;
        onError = reject;
        onClose = () => reject(new NetworkError('reset', `${options.url}: connection closed before CONNACK`));
        client.once('connect', onConnect);
        client.on('error', onError);
        client.once('close', onClose);
      });
    } catch (error) {
      client.on('error', () => {}); // late socket errors of a client we are abandoning
      client.end(true);
      throw mqttError(error, `connect ${options.url}`);
    } finally {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    }
    const connection = new NodeMqttConnection(client, connack.sessionPresent, settings.protocolVersion === 5 ? 5 : 4, early, () => this.#connections.delete(connection));
    client.off('message', onEarly);
    this.#connections.add(connection);
    return connection;
  }

  closeAll(): void {
    for (const connection of [...this.#connections]) void connection.close();
  }
}

class NodeMqttConnection implements MqttConnection {
  readonly sessionPresent: boolean;
  readonly protocolVersion: 4 | 5;
  readonly #client: MqttJsClient;
  readonly #release: () => void;
  readonly #listeners = new Set<(message: MqttMessage) => void>();
  readonly #closeListeners = new Set<(cause?: unknown) => void>();
  /** Operations waiting for an ack; a lost connection fails them (mqtt.js would keep them for a reconnect). */
  readonly #pending = new Set<(error: Error) => void>();
  #held: MqttMessage[] | undefined;
  #lastError: unknown;
  #closed = false;
  #cause: unknown;
  #ended: Promise<void> | undefined;

  constructor(client: MqttJsClient, sessionPresent: boolean, protocolVersion: 4 | 5, early: MqttMessage[], release: () => void) {
    this.#client = client;
    this.sessionPresent = sessionPresent;
    this.protocolVersion = protocolVersion;
    this.#release = release;
    this.#held = early;
    client.on('message', (topic, payload, packet) => {
      const message = toMessage(topic, payload, packet);
      if (this.#held) {
        // Messages a resumed session gets right after CONNACK can beat the caller's onMessage().
        this.#held.push(message);
        if (this.#held.length > MAX_HELD) this.#held.shift();
      } else this.#dispatch(message);
    });
    client.on('error', (error) => {
      this.#lastError = error;
    });
    client.on('close', () => this.#end(mqttError(this.#lastError ?? new NetworkError('reset', 'connection closed by the broker'), 'mqtt connection lost')));
  }

  // async: a closed connection or bad options reject, as the contract's Promise implies, never throw.
  async subscribe(topic: string, options?: { qos?: MqttQos }): Promise<void> {
    this.#ensureOpen();
    validateTopicFilter(topic);
    const qos = validateQos(options?.qos);
    return await this.#operation((done) =>
      this.#client.subscribe(topic, { qos }, (error, granted) => {
        if (error) done(error);
        else if (granted?.[0]?.qos === 128) done(new NetworkError('protocol', `broker refused subscription to ${topic}`));
        else done();
      }),
    );
  }

  async unsubscribe(topic: string): Promise<void> {
    this.#ensureOpen();
    validateTopicFilter(topic);
    return await this.#operation((done) => this.#client.unsubscribe(topic, (error) => done(error ?? undefined)));
  }

  async publish(topic: string, payload: Uint8Array, options?: { qos?: MqttQos; retain?: boolean }): Promise<void> {
    this.#ensureOpen();
    if (typeof topic !== 'string' || topic.length === 0 || /[+#\u0000]/.test(topic)) throw new InvalidOptionsError('mqtt: topic must be a non-empty name without wildcards');
    if (!(payload instanceof Uint8Array)) throw new InvalidOptionsError('mqtt: payload must be a Uint8Array');
    const qos = validateQos(options?.qos);
    const retain = options?.retain ?? false;
    if (typeof retain !== 'boolean') throw new InvalidOptionsError('mqtt: retain must be a boolean');
    const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return await this.#operation((done) => this.#client.publish(topic, bytes, { qos, retain }, (error) => done(error ?? undefined)));
  }

  onMessage(listener: (message: MqttMessage) => void): () => void {
    this.#listeners.add(listener);
    const held = this.#held;
    this.#held = undefined;
    if (held && held.length > 0) queueMicrotask(() => held.forEach((message) => this.#dispatch(message)));
    return () => this.#listeners.delete(listener);
  }

  onClose(listener: (cause?: unknown) => void): () => void {
    if (this.#closed) {
      queueMicrotask(() => listener(this.#cause)); // registered too late to see it happen: still tell, once
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Sends DISCONNECT (the broker keeps a persistent session) and resolves once the socket is closed. */
  close(): Promise<void> {
    // Graceful (DISCONNECT first) unless acks are outstanding: those fail now and must not hold close() up.
    const force = this.#pending.size > 0;
    this.#end(undefined);
    return (this.#ended ??= new Promise<void>((resolve) => this.#client.end(force, {}, () => resolve())));
  }

  #operation(start: (done: (error?: Error) => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      start((error) => {
        if (!this.#pending.delete(fail)) return; // already failed by the connection ending
        if (error) reject(mqttError(error, 'mqtt'));
        else resolve();
      });
    });
  }

  #dispatch(message: MqttMessage): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch (error) {
        queueMicrotask(() => {
          throw error; // one faulty listener must not starve the others; surface it
        });
      }
    }
  }

  #end(cause: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cause = cause;
    this.#release();
    const failure = cause instanceof Error ? cause : new ClosedError('mqtt connection');
    for (const fail of [...this.#pending]) fail(failure);
    // Release mqtt.js timers and its in-flight store. A later close() waits for this one end: a second
    // end() after mqtt.js has finished the first would try a DISCONNECT on the dead socket and never call back.
    if (cause !== undefined) this.#ended = new Promise<void>((resolve) => this.#client.end(true, {}, () => resolve()));
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) listener(cause);
  }

  #ensureOpen(): void {
    if (this.#closed) throw new ClosedError('mqtt connection');
  }
}

/** Plain Uint8Array views: the portable agent must not see Buffers. */
function toMessage(topic: string, payload: Buffer, packet: IPublishPacket): MqttMessage {
  return { topic, payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), qos: packet.qos === 0 ? 0 : 1, retain: packet.retain };
}

/** mqtt.js errors → `NetworkError`: CONNACK refusals carry a numeric reason code. */
function mqttError(error: unknown, context: string): HalError {
  if (error instanceof HalError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  // CONNACK "unacceptable protocol version" (3.1.1 code 1, MQTT 5 reason 0x84): the caller may retry with 3.1.1.
  if (code === 1 || code === 0x84) return new NetworkError('protocol', `${context}: broker does not speak this MQTT version (${message})`, { cause: error });
  if (typeof code === 'number') return new NetworkError('refused', `${context}: ${message}`, { cause: error });
  if (/connack timeout|keepalive timeout/i.test(message)) return new NetworkError('timeout', `${context}: ${message}`, { cause: error });
  if (/connection closed|client disconnecting/i.test(message)) return new NetworkError('reset', `${context}: ${message}`, { cause: error });
  return toNetworkError(error, context);
}

function validateQos(qos: MqttQos | undefined): MqttQos {
  if (qos === undefined) return 0;
  if (qos !== 0 && qos !== 1) throw new InvalidOptionsError('mqtt: qos must be 0 or 1');
  return qos;
}

function validateTopicFilter(filter: string): void {
  if (typeof filter !== 'string' || filter.length === 0 || filter.includes('\u0000')) throw new InvalidOptionsError('mqtt: topic filter must be a non-empty string');
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) throw new InvalidOptionsError(`mqtt: misplaced # in ${filter}`);
    if (level.includes('+') && level !== '+') throw new InvalidOptionsError(`mqtt: misplaced + in ${filter}`);
  });
}

function validateConnectOptions(options: MqttConnectOptions): URL {
  validateMqttOptions(options);
  let url: URL | undefined;
  try {
    url = new URL(options.url);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') || !url.hostname)
    throw new InvalidOptionsError('mqtt.connect: url must be mqtt://host:port or mqtts://host:port');
  return url;
}
