/**
 * Whether a failure is worth retrying later, without knowing which client raised it. Retry loops
 * (pipeline stages, the outbox, the scheduler) must not depend on one protocol's error class: the
 * CBOR client's `TransportError`, a family's own client errors and the HAL's `NetworkError` all
 * qualify by shape — an error that says `retryable: true`, or any HAL network failure (no answer
 * is not a refusal).
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { retryable?: unknown; name?: unknown };
  if (e.retryable === true) return true;
  if (e.retryable === false) return false;
  return e.name === 'NetworkError';
}

/** An error a family throws to say "not now, try again later" (no session yet, service unreachable). */
export class RetryLaterError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'retryLater';
  declare readonly retryable: true;
  constructor(message: string) {
    super(message);
    this.code = 'retryLater';
    this.retryable = true;
    this.name = 'RetryLaterError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
