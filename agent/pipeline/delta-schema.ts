/**
 * The wire shape of a delta offer and of a delta's outcome, shared by every family's messages
 * (agent/delivery/messages.ts, agent/firmware/messages.ts) so the fields mean the same
 * everywhere: a family adds only where the patch is (one URL, or its internal + external pair).
 * Builders, not schemas: the families' messages build their schemas per check
 * (agent/transport/on-demand.ts).
 */
import { type Infer, hexSha256, integer, object, oneOf, optional, string } from '../transport/schema.ts';

export const DELTA_FORMATS = ['vcdiff', 'bsdiff'] as const;

/** Largest source or patch a delta offer describes (4 GiB, like the firmware images). */
const MAX_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * The patch that turns `sourceVersion` (exactly `sourceSize` bytes with SHA-256 `sourceSha256`)
 * into the artifact it is offered next to; `size`/`sha256` are the patch's own, the result is
 * checked against the full artifact's size and digest.
 */
export const deltaOfferFields = () => ({
  format: oneOf(DELTA_FORMATS),
  sourceVersion: string({ min: 1, max: 100 }),
  sourceSize: integer({ min: 0, max: MAX_BYTES }),
  sourceSha256: hexSha256(),
  size: integer({ min: 1, max: MAX_BYTES }),
  sha256: hexSha256(),
});

/** How a delta went, in a family's status report (`DeltaNote` of ./delta-step.ts). */
export const deltaNote = () =>
  object({
    format: oneOf(DELTA_FORMATS),
    sourceVersion: string({ min: 1, max: 100 }),
    outcome: oneOf(['applied', 'fellBack'] as const),
    patchBytes: integer({ min: 0 }),
    fullBytes: integer({ min: 0 }),
    code: optional(string({ min: 1, max: 64 })),
    message: optional(string({ max: 1024 })),
  });
export type DeltaNoteMessage = Infer<ReturnType<typeof deltaNote>>;
