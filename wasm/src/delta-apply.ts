/**
 * Delta apply entry point: option checks, format detection, the source digest check (a full
 * read of the source, before anything is written), the SHA-256 of the result computed while it
 * is written, and the optional check of that digest. The format drivers are shared by both
 * engines; only the window executor and the add loop differ (DeltaEngine).
 */
import { equalBytes } from '../../agent/util/bytes.ts';
import { applyBsdiff, BSDIFF_MAGIC } from './bsdiff-apply.ts';
import { readSource } from './delta-input.ts';
import { DeltaError, type DeltaApplyOptions, type DeltaEngine, type DeltaFormat, type DeltaResult, type DeltaSink, type RangeReader } from './delta-types.ts';
import type { StreamingHash } from './types.ts';
import { applyVcdiff, VCDIFF_MAGIC } from './vcdiff-apply.ts';

/** xdelta3's default source window (64 MiB, -B) plus its default target window (8 MiB, -W). */
export const DEFAULT_WINDOW_BUDGET = 72 * 1024 * 1024;
const DIGEST_PIECE = 1024 * 1024;

/** The format a patch's first bytes announce, or undefined. */
export function detectDeltaFormat(head: Uint8Array): DeltaFormat | undefined {
  if (head.length >= 3 && head[0] === VCDIFF_MAGIC[0] && head[1] === VCDIFF_MAGIC[1] && head[2] === VCDIFF_MAGIC[2]) return 'vcdiff';
  if (head.length >= 8 && [...BSDIFF_MAGIC].every((c, k) => head[k] === c.charCodeAt(0))) return 'bsdiff';
  return undefined;
}

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

export type DeltaApplier = (source: RangeReader, patch: RangeReader, sink: DeltaSink, options?: DeltaApplyOptions) => Promise<DeltaResult>;

/** Appliers made by deltaApplier, each with a way to get a sibling that hashes with another hash. */
const rehash = new WeakMap<DeltaApplier, (createSha256: () => StreamingHash) => DeltaApplier>();

/**
 * Engines.applyDelta over one DeltaEngine: the WASM module has one set of buffers, so applies are
 * chained one after another (siblings from withDeltaHash share the chain).
 */
export function deltaApplier(engine: DeltaEngine, createSha256: () => StreamingHash): DeltaApplier {
  let queue: Promise<unknown> = Promise.resolve();
  const make = (create: () => StreamingHash): DeltaApplier => {
    const applier: DeltaApplier = (source, patch, sink, options) => {
      const run = queue.then(() => applyDelta(engine, create, source, patch, sink, options));
      queue = run.catch(() => undefined);
      return run;
    };
    rehash.set(applier, make);
    return applier;
  };
  return make(createSha256);
}

/**
 * The same applier hashing its output with `createSha256` (the host's native digest engine: the
 * SHA-256 of the target was the largest cost of an apply with the WASM hash, see README). An
 * applier not made here is returned as it is.
 */
export function withDeltaHash(applier: DeltaApplier, createSha256: () => StreamingHash): DeltaApplier {
  return rehash.get(applier)?.(createSha256) ?? applier;
}

