import type { AbortSignalLike } from '../../hal/types.ts';

/** AbortController for runtimes without one (QuickJS). */
export interface AbortHandle {
  readonly signal: AbortSignalLike;
  abort(reason?: unknown): void;
}

export function createAbort(): AbortHandle {
  let aborted = false;
  let reason: unknown;
  const listeners = new Set<(reason: unknown) => void>();
  const signal: AbortSignalLike = {
    get aborted() {
      return aborted;
    },
    get reason() {
      return reason;
    },
    onAbort(callback) {
      if (aborted) {
        callback(reason);
        return () => {};
      }
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
  };
  return {
    signal,
    abort(why?: unknown) {
      if (aborted) return;
      aborted = true;
      reason = why;
      for (const listener of [...listeners]) listener(why);
      listeners.clear();
    },
  };
}
