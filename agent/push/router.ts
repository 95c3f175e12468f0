/**
 * What a push message means: a CBOR wake-up (this device's or the fleet's topic) runs the named
 * family — or every family — through the scheduler; a family's raw channel (OMA DM package #0)
 * goes to that family's `receivePush`, or wakes it when it has none. A bad or unknown message is
 * dropped with one log line: nothing a broker sends can crash the agent.
 */
import type { MqttMessage } from '../../hal/types.ts';
import type { FamilyInstance } from '../families/family.ts';
import type { Logger } from '../log.ts';
import { decodeWake, type DeviceTopics, PushMessageError } from './message.ts';

/** Wake-up ids remembered for duplicate detection (QoS 1 redelivers after a reconnect). */
const RECENT_IDS = 64;

export interface PushRouterOptions {
  topics: DeviceTopics;
  families: readonly FamilyInstance[];
  /** Runs a family now through the scheduler: `wake` for a CBOR wake-up, `push` for its raw channel. */
  wake(family: string, reason: 'wake' | 'push'): void;
  log: Logger;
  onEvent?(event: { kind: string; [field: string]: unknown }): void;
}

export class PushRouter {
  readonly #options: PushRouterOptions;
  /** Topic of each family's raw channel → the family. */
  readonly #channels = new Map<string, { family: FamilyInstance; channel: string }>();
  readonly #recent: string[] = [];

  constructor(options: PushRouterOptions) {
    this.#options = options;
    for (const family of options.families)
      for (const trigger of family.triggers)
        if (trigger.kind === 'push') this.#channels.set(options.topics.channel(trigger.channel), { family, channel: trigger.channel });
  }

  /** Every topic the device subscribes to. */
  subscriptions(): string[] {
    return [this.#options.topics.wake, this.#options.topics.broadcast, ...this.#channels.keys()];
  }

  /** Acts on one message; never throws. */
  handle(message: MqttMessage): void {
    const { topics } = this.#options;
    try {
      if (message.topic === topics.wake || message.topic === topics.broadcast) this.#wake(message);
      else {
        const target = this.#channels.get(message.topic);
        if (!target) throw new PushMessageError('no family listens on this topic');
        this.#raw(target.family, target.channel, message);
      }
    } catch (error) {
      this.#drop(message.topic, error);
    }
  }

  #wake(message: MqttMessage): void {
    const wake = decodeWake(message.payload);
    if (wake.id !== undefined) {
      if (this.#recent.includes(wake.id)) throw new PushMessageError(`duplicate wake-up ${wake.id}`);
      this.#recent.push(wake.id);
      if (this.#recent.length > RECENT_IDS) this.#recent.shift();
    }
    const names = this.#options.families.map((family) => family.name);
    if (wake.family !== undefined && !names.includes(wake.family)) throw new PushMessageError(`wake-up for family ${wake.family}, which is not configured`);
    const targets = wake.family !== undefined ? [wake.family] : names;
    this.#options.log.info('push wake-up', { t: wake.t, families: targets, ...(wake.id !== undefined ? { id: wake.id } : {}) });
    this.#options.onEvent?.({ kind: 'wake', t: wake.t, families: targets, ...(wake.id !== undefined ? { id: wake.id } : {}) });
    for (const name of targets) this.#options.wake(name, 'wake');
  }

  #raw(family: FamilyInstance, channel: string, message: MqttMessage): void {
    this.#options.onEvent?.({ kind: 'channel', target: family.name, channel });
    if (!family.receivePush) {
      this.#options.wake(family.name, 'push');
      return;
    }
    // The family verifies the payload (package #0's digest) before acting; a refusal is a drop.
    family.receivePush(channel, message.payload).catch((error: unknown) => this.#drop(message.topic, error));
  }

  #drop(topic: string, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.#options.log.warn('push message dropped', { topic, reason });
    this.#options.onEvent?.({ kind: 'dropped', topic, reason });
  }
}
