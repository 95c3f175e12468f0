/**
 * The one CBOR (RFC 8949) codec of the agent, used by the store and the wire protocols: plain
 * CBOR (no cbor-x record extension or structured-clone tags) so any tool can read a dump, and
 * byte strings stay Uint8Array (hash states, file contents).
 */
import { Decoder, Encoder } from 'cbor-x';
import { setOwn } from './own.ts';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
// Maps decode as Map and become objects in `normalise`: cbor-x's own map-to-object conversion
// renames the key `__proto__` (to `__proto_`), which would silently change data (a target id).
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export class CborError extends Error {
  readonly code = 'badCbor';
  constructor(message: string) {
    super(message);
    this.name = 'CborError';
  }
}

export function encodeCbor(value: unknown): Uint8Array {
  const bytes = encoder.encode(value);
  // cbor-x hands back a Node Buffer where one exists; callers want plain bytes they can keep.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
}

/** Decodes exactly one CBOR item; malformed input or trailing bytes are a `CborError`. */
export function decodeCbor(bytes: Uint8Array): unknown {
  let items: unknown[];
  try {
    items = decoder.decodeMultiple(bytes) as unknown[];
  } catch (error) {
    throw new CborError(`malformed CBOR: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(items) || items.length !== 1) throw new CborError(`expected one CBOR item, found ${Array.isArray(items) ? items.length : 0}`);
  return normalise(items[0]);
}

/** Buffers become plain Uint8Arrays, so values look the same on Node and QuickJS. */
function normalise(value: unknown): unknown {
  // An integer beyond ±(2^53 − 1) decodes as a BigInt, which no schema accepts and which breaks
  // JSON.stringify in any error message or log that quotes it: refuse it here, typed.
  if (typeof value === 'bigint') throw new CborError(`integer ${value} is outside ±(2^53 - 1)`);
  if (value instanceof Uint8Array) return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  if (Array.isArray(value)) return value.map(normalise);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    // setOwn: the key `__proto__` stays data (a plain assignment would replace the prototype).
    for (const [key, inner] of value) setOwn(out, mapKey(key), normalise(inner));
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // setOwn: a map key `__proto__` stays data (a plain assignment would replace the prototype).
    for (const [key, inner] of Object.entries(value)) setOwn(out, key, normalise(inner));
    return out;
  }
  return value;
}

/** Map keys as object keys: strings as they are, numbers and booleans spelled out, nothing else. */
function mapKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint') return String(key);
  throw new CborError(`map key of type ${key === null ? 'null' : typeof key} (only text and numbers are allowed)`);
}
