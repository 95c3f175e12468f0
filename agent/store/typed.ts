/**
 * Structured values on top of the byte store, encoded as CBOR (RFC 8949) with cbor-x: compact,
 * binary-safe (Uint8Array stays bytes, e.g. hash states) and the codec the wire protocols use.
 */
import { Decoder, Encoder } from 'cbor-x';
import type { StoreOp } from './format.ts';
import type { KeyValueStore } from './kv-store.ts';
import { StoreValueError } from './errors.ts';

// Plain CBOR: no record extension or structured-clone tags, so other tools can read a dump.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeValue(value: unknown): Uint8Array {
  const bytes = encoder.encode(value);
  // cbor-x hands back a Node Buffer where one exists; callers and the store want plain bytes.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
}

export function decodeValue(key: string, bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
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
  return store.put(key, encodeValue(value));
}

export function putOp(key: string, value: unknown): StoreOp {
  return { kind: 'put', key, value: encodeValue(value) };
}

export function deleteOp(key: string): StoreOp {
  return { kind: 'delete', key };
}
