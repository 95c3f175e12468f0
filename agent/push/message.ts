/**
 * The push channel's wire format, shared by the agent (decode) and the servers (encode): the
 * topics of a device and the CBOR wake-up message.
 *
 * Topics, under a prefix (default `dm`) and the device id (`+`, `#` and `/` replaced by `_`):
 *   <prefix>/<device>/wake     CBOR wake-up for this device
 *   <prefix>/all/wake          CBOR wake-up for every device of the fleet
 *   <prefix>/<device>/<chan>   raw payload of a family's own push channel (OMA DM: `pkg0`,
 *                              package #0 bytes, verified by the family before it acts)
 *   <prefix>/<device>/status   `online` (retained, on connect) / `offline` (retained: the Last Will,
 *                              or published on a clean stop)
 *
 * Wake-up message: one CBOR map { t: 'poll' | 'check', family?: string, id?: string }.
 *   t       what the sender means: 'poll' (ask the manager now) or 'check' (look for updates now);
 *           the agent runs the family now for either. Other values are dropped (logged).
 *   family  the configured family to run (delivery, firmware, omadm…); absent: every family.
 *   id      ≤ 64 characters; QoS 1 is at-least-once, so a repeated id is a duplicate and dropped.
 * Unknown keys are ignored (a newer server may add some). At most 256 bytes.
 */
import { decodeCbor, encodeCbor } from '../util/cbor.ts';
import { type Infer, object, oneOf, optional, SchemaError, string } from '../transport/schema.ts';
import { onDemand } from '../transport/schema.ts';

export { DEFAULT_TOPIC_PREFIX, type DeviceTopics, deviceTopics, topicLevel } from './topics.ts';

export const MAX_WAKE_BYTES = 256;

// Built on demand and marked pure: a module importing only the topics (re-exported above) carries none of it.
export const wakeSchema = /* @__PURE__ */ onDemand(() =>
  object({
    t: oneOf(['poll', 'check'] as const),
    family: optional(string({ min: 1, max: 64 })),
    id: optional(string({ min: 1, max: 64 })),
  }),
);

export type WakeMessage = Infer<typeof wakeSchema>;

export class PushMessageError extends Error {
  // Declared and set in the constructor, not a class field: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'badPush';
  constructor(message: string) {
    super(message);
    this.code = 'badPush';
    this.name = 'PushMessageError';
  }
}

export function encodeWake(message: WakeMessage): Uint8Array {
  return encodeCbor(wakeSchema.parse(message));
}

/** Decodes a wake-up; anything else is a `PushMessageError` naming what is wrong. */
export function decodeWake(payload: Uint8Array): WakeMessage {
  if (payload.length > MAX_WAKE_BYTES) throw new PushMessageError(`wake-up of ${payload.length} bytes (max ${MAX_WAKE_BYTES})`);
  let value: unknown;
  try {
    value = decodeCbor(payload);
  } catch (error) {
    throw new PushMessageError(error instanceof Error ? error.message : String(error));
  }
  try {
    return wakeSchema.parse(value);
  } catch (error) {
    if (error instanceof SchemaError) throw new PushMessageError(`wake-up ${error.message}`);
    throw error;
  }
}
