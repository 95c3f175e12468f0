/**
 * The push channel's topics (the layout is in ./message.ts): here, without the wake-up message's
 * schema or the config's, because the OMA DM family needs only its device's topics (its package #0
 * channel) and a board holds everything a module imports.
 */

/** The default first topic level (`push.mqtt.topicPrefix`). */
export const DEFAULT_TOPIC_PREFIX = 'dm';

/** One topic level from a device id: MQTT wildcards and separators cannot appear in it. */
export function topicLevel(id: string): string {
  return id.replace(/[+#/\u0000]/g, '_');
}

export interface DeviceTopics {
  wake: string;
  broadcast: string;
  status: string;
  /** The topic of a family's raw push channel. */
  channel(name: string): string;
}

export function deviceTopics(deviceId: string, prefix = DEFAULT_TOPIC_PREFIX): DeviceTopics {
  const base = `${prefix}/${topicLevel(deviceId)}`;
  return { wake: `${base}/wake`, broadcast: `${prefix}/all/wake`, status: `${base}/status`, channel: (name) => `${base}/${name}` };
}
