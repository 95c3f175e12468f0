/**
 * What a delta patch looks like from outside: the formats' magic bytes and the default window
 * budget. Apart from the readers (./delta-apply.ts) so that `wasm/index.ts` can export them
 * without pulling the readers (and LZMA, bzip2) into every bundle: those load at the first apply.
 */
import type { DeltaFormat } from './delta-types.ts';

/** xdelta3's default source window (64 MiB, -B) plus its default target window (8 MiB, -W). */
export const DEFAULT_WINDOW_BUDGET = 72 * 1024 * 1024;
export const VCDIFF_MAGIC = [0xd6, 0xc3, 0xc4] as const;
export const BSDIFF_MAGIC = 'BSDIFF40';

/** The format a patch's first bytes announce, or undefined. */
export function detectDeltaFormat(head: Uint8Array): DeltaFormat | undefined {
  if (head.length >= 3 && head[0] === VCDIFF_MAGIC[0] && head[1] === VCDIFF_MAGIC[1] && head[2] === VCDIFF_MAGIC[2]) return 'vcdiff';
  if (head.length >= 8 && [...BSDIFF_MAGIC].every((c, k) => head[k] === c.charCodeAt(0))) return 'bsdiff';
  return undefined;
}
