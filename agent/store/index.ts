export { KeyValueStore, type StoreOpenReport, type StoreCorruption, type StoreStats } from './kv-store.ts';
export { type StoreOp } from './format.ts';
export { StoreError, StoreFullError, StoreClosedError, StoreUsageError, StoreValueError, StoreIoError, StoreFormatError } from './errors.ts';
export { encodeValue, decodeValue, getValue, putValue, putOp, deleteOp } from './typed.ts';
