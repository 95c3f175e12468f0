/** Typed store errors. Corruption is never thrown: it is reported by `KeyValueStore.report`. */

export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The live set (after the write) would not fit one area; nothing was written. */
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
