/**
 * The `download` config section of the image families (firmware, omadm): the shared pipeline's
 * limits a deployment may tune. Shared so every family reads the same keys with the same bounds
 * and defaults (README "Durability").
 */
import { DEFAULT_CHECKPOINT_BYTES, DEFAULT_CHECKPOINT_MS } from '../pipeline/download-options.ts';
import { type Infer, integer, object, optional } from '../transport/schema.ts';
import { onDemand } from '../transport/on-demand.ts';

/** Built per check (a QuickJS board drops it after: ../transport/on-demand.ts), not held for the agent's life. */
export const imageDownloadSchema = onDemand(() =>
  object(
    {
      maxAttempts: optional(integer({ min: 1, max: 100 })),
      /** A checkpoint needs this many new bytes *and* `checkpointMs` since the last one. */
      checkpointBytes: optional(integer({ min: 4096 })),
      checkpointMs: optional(integer({ min: 0 })),
      timeoutMs: optional(integer({ min: 100 })),
    },
    { strict: true },
  ),
);

export interface ImageDownloadConfig {
  maxAttempts: number;
  checkpointBytes: number;
  checkpointMs: number;
  timeoutMs: number;
}

export function resolveImageDownload(input: Infer<typeof imageDownloadSchema> | undefined): ImageDownloadConfig {
  const d = input ?? {};
  return { maxAttempts: d.maxAttempts ?? 5, checkpointBytes: d.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES, checkpointMs: d.checkpointMs ?? DEFAULT_CHECKPOINT_MS, timeoutMs: d.timeoutMs ?? 30_000 };
}
