/**
 * The agent's one push channel: an MQTT connection through the HAL, kept while the agent runs.
 *  - MQTT 5 first when `protocol` is `auto`, 3.1.1 when the broker refuses the version (remembered);
 *  - a persistent session (clean = false, stable client id) so QoS 1 wake-ups published while the
 *    device is offline are delivered when it comes back; subscriptions at QoS 1;
 *  - `online` retained on the status topic, and `offline` as the Last Will (or on a clean stop);
 *  - a lost or refused connection is retried with capped, jittered exponential backoff.
 * Messages go to ./router.ts. The HAL loads its MQTT library on the first connect, so an agent
 * without a `push` section never pays for it.
 */
import { NetworkError } from '../../hal/errors.ts';
import type { AbortSignalLike, Clock, MqttClient, MqttConnection } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import { backoffDelay } from '../pipeline/backoff.ts';
import { utf8Encode } from '../util/bytes.ts';
import { errorMessage } from '../util/retry.ts';
import { pause } from '../util/sleep.ts';
import type { PushConfig } from './config.ts';
import type { DeviceTopics } from './message.ts';
import type { PushRouter } from './router.ts';

export type PushState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface PushChannelOptions {
  mqtt: MqttClient;
  clock: Pick<Clock, 'setTimer' | 'clearTimer'>;
  /** A value in [0, 1) for the backoff's jitter. */
  random01(): number;
  log: Logger;
  config: PushConfig;
  clientId: string;
  topics: DeviceTopics;
  router: PushRouter;
  onEvent?(event: { kind: string; [field: string]: unknown }): void;
}

const ONLINE = utf8Encode('online');
const OFFLINE = utf8Encode('offline');

export class PushChannel {
  readonly #options: PushChannelOptions;
  #state: PushState = 'idle';
  #version: 4 | 5;
  /** Failed attempts since the last good connection. */
  #failures = 0;

  constructor(options: PushChannelOptions) {
    this.#options = options;
    this.#version = options.config.protocol === '3.1.1' ? 4 : 5;
  }

  get state(): PushState {
    return this.#state;
  }

  /** The MQTT version in use (or to try next): 4 = 3.1.1, 5 = MQTT 5. */
  get protocolVersion(): 4 | 5 {
    return this.#version;
  }

  /** Keeps the connection until `signal` aborts. Never throws: failures back off and retry. */
  async run(signal: AbortSignalLike): Promise<void> {
    const { log } = this.#options;
    while (!signal.aborted) {
      this.#state = 'connecting';
      let connection: MqttConnection | undefined;
      try {
        connection = await this.#connectUnlessStopped(signal);
      } catch (error) {
        if (this.#options.config.protocol === 'auto' && this.#version === 5 && error instanceof NetworkError && error.code === 'protocol') {
          log.info('push: broker speaks MQTT 3.1.1 only', { url: this.#options.config.url });
          this.#version = 4;
          continue;
        }
        await this.#backoff(error, signal);
        continue;
      }
      if (!connection) break;
      const cause = await this.#serve(connection, signal);
      if (!signal.aborted) await this.#backoff(cause, signal);
    }
    this.#state = 'stopped';
  }

  /** Connects, or resolves undefined as soon as `signal` aborts (a late connection is closed): a stop never waits for a slow broker. */
  async #connectUnlessStopped(signal: AbortSignalLike): Promise<MqttConnection | undefined> {
    const connecting = this.#connect();
    let off: () => void = () => undefined;
    const stopped = new Promise<undefined>((resolve) => (off = signal.onAbort(() => resolve(undefined))));
    try {
      const connection = await Promise.race([connecting, stopped]);
      if (!connection) connecting.then((late) => late.close(), () => undefined);
      return connection;
    } finally {
      off();
    }
  }

  #connect(): Promise<MqttConnection> {
    const { config, clientId, topics } = this.#options;
    return this.#options.mqtt.connect({
      url: config.url,
      clientId,
      cleanSession: false,
      protocolVersion: this.#version,
      keepAliveMs: config.keepAliveMs,
      connectTimeoutMs: 30_000,
      will: { topic: topics.status, payload: OFFLINE, qos: 1, retain: true },
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
    });
  }

  /** Subscribes, announces itself and routes messages until the connection ends or `signal` aborts; returns the cause. */
  async #serve(connection: MqttConnection, signal: AbortSignalLike): Promise<unknown> {
    const { router, topics } = this.#options;
    let lost: (cause: unknown) => void = () => undefined;
    const ended = new Promise<unknown>((resolve) => (lost = resolve));
    const offClose = connection.onClose((cause) => lost(cause ?? new NetworkError('reset', 'push connection closed')));
    const offMessage = connection.onMessage((message) => router.handle(message));
    const offAbort = signal.onAbort(() => lost(undefined));
    try {
      // Stopped while connecting: straight to the clean goodbye.
      if (!signal.aborted) await this.#announce(connection);
    } catch (error) {
      lost(error);
    }
    const cause = await ended;
    offClose();
    offMessage();
    offAbort();
    if (cause === undefined) await connection.publish(topics.status, OFFLINE, { qos: 1, retain: true }).catch(() => undefined);
    await connection.close();
    return cause;
  }

  /** Subscribes (QoS 1) and says `online`. */
  async #announce(connection: MqttConnection): Promise<void> {
    const { router, topics, log } = this.#options;
    // A resumed session still has its subscriptions; subscribing again is idempotent and covers a broker that lost them.
    for (const topic of router.subscriptions()) await connection.subscribe(topic, { qos: 1 });
    await connection.publish(topics.status, ONLINE, { qos: 1, retain: true });
    this.#failures = 0;
    this.#state = 'connected';
    log.info('push: connected', { url: this.#options.config.url, mqtt: this.#version === 5 ? '5' : '3.1.1', sessionPresent: connection.sessionPresent });
    this.#options.onEvent?.({ kind: 'connected', protocolVersion: this.#version, sessionPresent: connection.sessionPresent });
  }

  async #backoff(cause: unknown, signal: AbortSignalLike): Promise<void> {
    this.#failures += 1;
    const retryInMs = Math.round(backoffDelay(this.#failures, this.#options.config.backoff, this.#options.random01()));
    this.#state = 'backoff';
    this.#options.log.warn('push: broker unreachable', { url: this.#options.config.url, error: errorMessage(cause), failures: this.#failures, retryInMs });
    this.#options.onEvent?.({ kind: 'disconnected', error: errorMessage(cause), failures: this.#failures, retryInMs });
    await pause(this.#options.clock, retryInMs, signal);
  }
}
