/** Structured values on top of the byte store, in the agent's CBOR (see ../util/cbor.ts). */
import { decodeCbor, encodeCbor } from '../util/cbor.ts';
import type { StoreOp } from './format.ts';
import type { KeyValueStore } from './kv-store.ts';
import { StoreValueError } from './errors.ts';

export const encodeValue = encodeCbor;

export function decodeValue(key: string, bytes: Uint8Array): unknown {
  try {
    return decodeCbor(bytes);
  } catch (error) {
    throw new StoreValueError(key, error instanceof Error ? error.message : String(error));
  }
}

export function getValue<T>(store: KeyValueStore, key: string, check?: (value: unknown) => value is T): T | undefined {
  const bytes = store.get(key);
  if (bytes === undefined) return undefined;
  const value = decodeValue(key, bytes);
  if (check && !check(value)) throw new StoreValueError(key, 'unexpected shape');
  return value as T;
}

export function putValue(store: KeyValueStore, key: string, value: unknown): Promise<void> {
  return store.put(key, encodeCbor(value));
}

export function putOp(key: string, value: unknown): StoreOp {
  return { kind: 'put', key, value: encodeCbor(value) };
}

export function deleteOp(key: string): StoreOp {
  return { kind: 'delete', key };
}
