/**
 * Engines.applyDelta over one DeltaEngine. The WASM module has one set of buffers, so applies are
 * chained one after another (siblings from withDeltaHash share the chain). The format readers
 * (VCDIFF with LZMA, bsdiff with bzip2: 25 KB of both engines) and the JS engine are a chunk of
 * their own, loaded at the first apply: a board that never gets a delta never loads them, which is
 * why this module imports ./delta-apply.ts only dynamically.
 */
import type { DeltaApplyOptions, DeltaEngine, DeltaResult, DeltaSink, RangeReader } from './delta-types.ts';
import type { StreamingHash } from './types.ts';

export type DeltaApplier = (source: RangeReader, patch: RangeReader, sink: DeltaSink, options?: DeltaApplyOptions) => Promise<DeltaResult>;

/** Appliers made by deltaApplier, each with a way to get a sibling that hashes with another hash. */
const rehash = new WeakMap<DeltaApplier, (createSha256: () => StreamingHash) => DeltaApplier>();

export function deltaApplier(engine: () => DeltaEngine | Promise<DeltaEngine>, createSha256: () => StreamingHash): DeltaApplier {
  let queue: Promise<unknown> = Promise.resolve();
  let ready: Promise<DeltaEngine> | undefined;
  const make = (create: () => StreamingHash): DeltaApplier => {
    const applier: DeltaApplier = (source, patch, sink, options) => {
      const run = queue.then(async () => {
        ready ??= Promise.resolve(engine()).catch((error: unknown) => {
          ready = undefined; // a failed load is tried again by the next apply
          throw error;
        });
        const [deltaEngine, { applyDelta }] = await Promise.all([ready, import('./delta-apply.ts')]);
        return applyDelta(deltaEngine, create, source, patch, sink, options);
      });
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
