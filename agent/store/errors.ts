/**
 * Typed store errors: the store throws nothing else (the mock HAL's PowerCutError, which stands for
 * the process dying, passes through). Corruption is never thrown: `KeyValueStore.report` lists it.
 */

export class StoreError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.code = code;
    this.name = new.target.name;
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * The live set after the write would not fit one area once compacted; nothing was written.
 * A batch of deletes only is never refused for lack of room.
 */
export class StoreFullError extends StoreError {
  constructor(message: string) {
    super('storeFull', message);
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super('closed', 'store is closed');
  }
}

/** A caller error: bad key, bad value type, unusable partition. */
export class StoreUsageError extends StoreError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** A stored value could not be decoded as the type asked for. */
export class StoreValueError extends StoreError {
  constructor(key: string, message: string) {
    super('badValue', `value of ${key}: ${message}`);
  }
}

/** The flash refused a read, write or erase; `cause` holds the HAL's error. A failed write is never appended after. */
export class StoreIoError extends StoreError {
  constructor(message: string, cause: unknown) {
    super('io', message, { cause });
  }
}

/** The partition holds a store in an on-flash format this agent does not know (written by a newer one); nothing was touched. */
export class StoreFormatError extends StoreError {
  declare readonly version: number;
  constructor(message: string, version: number) {
    super('format', message);
    this.version = version;
  }
}
