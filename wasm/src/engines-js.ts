/**
 * The JS engines (always available: @noble/hashes, a TS diff, the TS SyncML tokenizer), for
 * runtimes without WebAssembly such as QuickJS. ../index.ts imports this module only with
 * `import()`, so it is a chunk of its own: a board whose HAL offers WASM (and a native digest
 * engine) neither stores nor loads these fallbacks.
 */
import { deltaApplier } from './delta-applier.ts';
import { jsDiff } from './diff-js.ts';
import { checkAlgorithm } from './hash-state.ts';
import { hmacWith } from './hmac.ts';
import { createJsHash, jsHashOnce } from './js-hash.ts';
import { tokenizeSyncmlJs } from './syncml-js.ts';
import type { Engines } from './types.ts';

export function createJsEngines(): Engines {
  return {
    kind: 'js',
    createHash: (algorithm, state) => createJsHash(checkAlgorithm(algorithm), state),
    hash: (algorithm, data) => jsHashOnce(checkAlgorithm(algorithm), data),
    hmac: (algorithm, key, data) => hmacWith(createJsHash, checkAlgorithm(algorithm), key, data),
    diff: jsDiff,
    applyDelta: deltaApplier(async () => (await import('./vcdiff-js.ts')).createJsDelta(), () => createJsHash('sha256')),
    syncmlTokenize: tokenizeSyncmlJs,
  };
}
