/**
 * Typed errors shared by every HAL implementation and the agent. Callers branch on `instanceof`
 * or on `code`, never on message text. Portable (no platform imports) so agent/ may import it.
 */

export class HalError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.code = code;
    this.name = new.target.name;
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** An options object failed validation; nothing was touched. */
export class InvalidOptionsError extends HalError {
  constructor(message: string) {
    super('invalidOptions', message);
  }
}

/** A call on an object after its `close()`. */
export class ClosedError extends HalError {
  constructor(what: string) {
    super('closed', `${what} is closed`);
  }
}

export type FlashErrorCode = 'outOfRange' | 'misaligned' | 'notErased' | 'noPartition' | 'io';

export class FlashError extends HalError {
  constructor(code: FlashErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * Power was cut during (or before) this operation. Only the mock HAL raises it: on real
 * hardware the process would simply stop. After it every call fails until the mock reboots.
 */
export class PowerCutError extends HalError {
  constructor(operation: string) {
    super('powerCut', `power cut during ${operation}`);
  }
}

export type NetworkErrorCode =
  | 'reset' // connection reset / closed mid-transfer
  | 'refused'
  | 'timeout'
  | 'aborted'
  | 'notFound' // DNS name does not exist
  | 'tls'
  | 'tooLarge' // body above the caller's limit
  | 'protocol'
  | 'io';

export class NetworkError extends HalError {
  constructor(code: NetworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A path outside the configured roots, or a traversal attempt. */
export class AccessDeniedError extends HalError {
  constructor(path: string) {
    super('accessDenied', `access denied: ${path}`);
  }
}

export class NotFoundError extends HalError {
  constructor(what: string) {
    super('notFound', `not found: ${what}`);
  }
}

/** A firmware image or slot operation that cannot be done (too large, wrong state, bad digest). */
export class UpdateError extends HalError {
  constructor(code: 'tooLarge' | 'state' | 'digest' | 'io', message: string) {
    super(code, message);
  }
}
