/**
 * The push channel as the agent builds it: config → topics, router and MQTT connection for this
 * device. See ./message.ts for the wire format and ./channel.ts for the connection policy.
 */
import type { Device } from '../../hal/types.ts';
import type { FamilyInstance } from '../families/family.ts';
import type { Scheduler } from '../families/scheduler.ts';
import type { Logger } from '../log.ts';
import { PushChannel } from './channel.ts';
import type { PushConfig } from './config.ts';
import { deviceTopics, topicLevel } from './topics.ts';
import { PushRouter } from './router.ts';

export { PushChannel, type PushState } from './channel.ts';
export { parsePushConfig, type PushConfig } from './config.ts';
export { decodeWake, deviceTopics, encodeWake, PushMessageError, type DeviceTopics, type WakeMessage } from './message.ts';

export function createPushChannel(options: {
  device: Device;
  config: PushConfig;
  deviceId: string;
  families: readonly FamilyInstance[];
  /** Wake-ups go through the agent's scheduler, so a pushed run never overlaps a scheduled one. */
  scheduler: Pick<Scheduler, 'wake'>;
  log: Logger;
  /** The agent's event sink: the channel's events go out as the `push` family's. */
  emit?(family: string, event: { kind: string; [field: string]: unknown }): void;
}): PushChannel {
  const { device, config, log, scheduler, emit } = options;
  const topics = deviceTopics(options.deviceId, config.topicPrefix);
  const events = emit ? { onEvent: (event: { kind: string; [field: string]: unknown }) => emit('push', event) } : {};
  const wake = (family: string, reason: 'wake' | 'push') => void scheduler.wake(family, reason);
  const router = new PushRouter({ topics, families: options.families, wake, log, ...events });
  return new PushChannel({
    mqtt: device.net.mqtt,
    clock: device.clock,
    random01: () => (device.random.bytes(1)[0] as number) / 256,
    log,
    config,
    // Stable across restarts: the broker finds the persistent session (and its queued wake-ups) by it.
    clientId: config.clientId ?? `dm-agent-${topicLevel(options.deviceId)}`,
    topics,
    router,
    ...events,
  });
}
