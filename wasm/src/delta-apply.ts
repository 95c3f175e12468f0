/**
 * Delta apply entry point: option checks, format detection, the source digest check (a full
 * read of the source, before anything is written), the SHA-256 of the result computed while it
 * is written, and the optional check of that digest. The format drivers are shared by both
 * engines; only the window executor and the add loop differ (DeltaEngine).
 */
import { equalBytes } from '../../agent/util/bytes.ts';
import { applyBsdiff } from './bsdiff-apply.ts';
import { DEFAULT_WINDOW_BUDGET, detectDeltaFormat } from './delta-format.ts';
import { readSource } from './delta-input.ts';
import { DeltaError, type DeltaApplyOptions, type DeltaEngine, type DeltaFormat, type DeltaResult, type DeltaSink, type RangeReader } from './delta-types.ts';
import type { StreamingHash } from './types.ts';
import { applyVcdiff } from './vcdiff-apply.ts';

export { DEFAULT_WINDOW_BUDGET, detectDeltaFormat };
const DIGEST_PIECE = 1024 * 1024;

function checkOptions(options: DeltaApplyOptions): number {
  const { format, windowBudget, sourceSha256, targetSha256, sourceSize } = options;
  if (format !== undefined && format !== 'vcdiff' && format !== 'bsdiff') throw new DeltaError('invalidOptions', "format must be 'vcdiff' or 'bsdiff'");
  const budget = windowBudget ?? DEFAULT_WINDOW_BUDGET;
  if (!Number.isSafeInteger(budget) || budget < 0) throw new DeltaError('invalidOptions', 'windowBudget must be a non-negative integer');
  for (const [name, digest] of [['sourceSha256', sourceSha256], ['targetSha256', targetSha256]] as const) {
    if (digest !== undefined && (!(digest instanceof Uint8Array) || digest.length !== 32)) throw new DeltaError('invalidOptions', `${name} must be 32 bytes`);
  }
  if (sourceSize !== undefined && (!Number.isSafeInteger(sourceSize) || sourceSize < 0)) throw new DeltaError('invalidOptions', 'sourceSize must be a non-negative integer');
  return budget;
}

async function checkSource(source: RangeReader, createHash: () => StreamingHash, expected: Uint8Array, size: number | undefined): Promise<void> {
  const hash = createHash();
  const piece = new Uint8Array(DIGEST_PIECE);
  for (let offset = 0; ; ) {
    const want = size === undefined ? piece.length : Math.min(piece.length, size - offset);
    if (want <= 0) break;
    const got = await readSource(source, offset, piece.subarray(0, want));
    hash.update(piece.subarray(0, got));
    offset += got;
    if (got < want) {
      if (size !== undefined) throw new DeltaError('sourceMismatch', `source is shorter than its stated size ${size}`);
      break;
    }
  }
  if (!equalBytes(hash.digest(), expected)) throw new DeltaError('sourceMismatch', 'source does not have the expected SHA-256 (not the version this delta was made from)');
}

export async function applyDelta(
  engine: DeltaEngine,
  createHash: () => StreamingHash,
  source: RangeReader,
  patch: RangeReader,
  sink: DeltaSink,
  options: DeltaApplyOptions = {},
): Promise<DeltaResult> {
  if (typeof source !== 'function' || typeof patch !== 'function' || typeof sink !== 'function') throw new DeltaError('invalidOptions', 'source, patch and sink must be functions');
  const budget = checkOptions(options);
  let format = options.format;
  if (format === undefined) {
    const head = await patch(0, 8);
    format = detectDeltaFormat(head instanceof Uint8Array ? head : new Uint8Array(0));
    if (format === undefined) throw new DeltaError('corrupt', 'patch is neither VCDIFF nor BSDIFF40');
  }
  if (options.sourceSha256 !== undefined) await checkSource(source, createHash, options.sourceSha256, options.sourceSize);
  const hash = createHash();
  const emit = async (chunk: Uint8Array): Promise<void> => {
    hash.update(chunk);
    await sink(chunk);
  };
  const run = format === 'vcdiff' ? await applyVcdiff(engine.vcdiff(), source, patch, emit, budget) : await applyBsdiff(engine.bsdiff(), source, patch, emit);
  const sha256 = hash.digest();
  if (options.targetSha256 !== undefined && !equalBytes(sha256, options.targetSha256)) throw new DeltaError('targetMismatch', 'result does not have the expected SHA-256');
  return { format, bytesWritten: run.bytesWritten, sha256, peakWindowBytes: run.peakWindowBytes };
}
