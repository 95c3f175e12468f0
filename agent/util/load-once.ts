/**
 * A lazily imported module, imported once per process. Every `import()` call costs a trip through
 * the module loader (and, under a loader hook such as tsx's, a message to its thread) even when the
 * module is already loaded; a process that runs thousands of agents (the fleet simulation) would
 * pay it per agent. A failed import is forgotten, so the next call tries again.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}
