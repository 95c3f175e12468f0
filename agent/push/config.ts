/**
 * The `push` section of the agent config:
 *   { "mqtt": { "url": "mqtt://broker:1883", "clientId"?, "topicPrefix"?, "username"?, "password"?,
 *               "protocol"?: "auto" | "5" | "3.1.1", "keepAliveMs"?, "backoff"?: { "initialMs", "maxMs" } } }
 * Absent section: no push channel, and the HAL's MQTT client is never touched (mqtt.js never loads).
 */
import { integer, object, oneOf, optional, string } from '../transport/schema.ts';
import { onDemand } from '../transport/schema.ts';

import { DEFAULT_TOPIC_PREFIX } from './topics.ts';

// Not from ./message.ts: parsing the config must not load the wire format (CBOR).
export { DEFAULT_TOPIC_PREFIX };

const topicPart = /^[^+#\u0000]+$/;

// Built on demand and marked pure: a module that imports only DEFAULT_TOPIC_PREFIX carries none of it.
export const pushConfigSchema = /* @__PURE__ */ onDemand(() =>
  object(
    {
      mqtt: object(
        {
          url: string({ max: 2048, pattern: /^mqtts?:\/\/[^\s/?#@]+\/?$/, label: "mqtt://host:port or mqtts://host:port (credentials go in username and password)" }),
          clientId: optional(string({ min: 1, max: 128, pattern: topicPart, label: 'a client id without + or #' })),
          topicPrefix: optional(string({ min: 1, max: 128, pattern: /^[^+#\u0000]+[^+#/\u0000]$|^[^+#/\u0000]$/, label: 'a topic prefix without wildcards or a trailing /' })),
          username: optional(string({ min: 1, max: 256 })),
          password: optional(string({ min: 1, max: 1024 })),
          protocol: optional(oneOf(['auto', '5', '3.1.1'] as const)),
          keepAliveMs: optional(integer({ min: 1000, max: 65535 * 1000 })),
          backoff: optional(object({ initialMs: integer({ min: 1, max: 3_600_000 }), maxMs: integer({ min: 1, max: 86_400_000 }) }, { strict: true })),
        },
        { strict: true },
      ),
    },
    { strict: true },
  ),
);

export interface PushConfig {
  url: string;
  clientId?: string;
  topicPrefix: string;
  username?: string;
  password?: string;
  protocol: 'auto' | '5' | '3.1.1';
  keepAliveMs: number;
  backoff: { initialMs: number; maxMs: number; factor: number };
}

export function parsePushConfig(input: unknown): PushConfig {
  const { mqtt } = pushConfigSchema.parse(input, 'push');
  const backoff = { initialMs: mqtt.backoff?.initialMs ?? 1000, maxMs: mqtt.backoff?.maxMs ?? 300_000, factor: 2 };
  if (backoff.maxMs < backoff.initialMs) throw new Error('push.mqtt.backoff: maxMs must be >= initialMs');
  return {
    url: mqtt.url,
    ...(mqtt.clientId !== undefined ? { clientId: mqtt.clientId } : {}),
    topicPrefix: mqtt.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
    ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
    protocol: mqtt.protocol ?? 'auto',
    keepAliveMs: mqtt.keepAliveMs ?? 60_000,
    backoff,
  };
}
