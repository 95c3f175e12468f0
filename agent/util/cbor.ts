/**
 * The one CBOR (RFC 8949) codec of the agent, used by the store and the wire protocols: plain
 * CBOR (no record extension or structured-clone tags) so any tool can read a dump, and byte
 * strings stay Uint8Array (hash states, file contents).
 *
 * Our own code rather than cbor-x: cbor-x was 30 KB of the 120 KB agent bundle and keeps
 * encoder state and buffers alive in the QuickJS heap. The bytes are the ones cbor-x wrote with
 * the options the agent used (`useRecords: false, mapsAsObjects: true, tagUint8Array: false`),
 * so stores written by earlier versions and peers still on cbor-x read the same:
 * integers in [-2^32, 2^32) as integers and every other number as a float64, objects as a map
 * with a 16-bit count, Maps behind tag 259. test/util/cbor.test.ts checks this against cbor-x.
 */
import { concatBytes, utf8Decode, utf8EncodeInto } from './bytes.ts';
import { setOwn } from './own.ts';

export class CborError extends Error {
  // Declared and set in the constructor, not a class field: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'badCbor';
  constructor(message: string) {
    super(message);
    this.code = 'badCbor';
    this.name = 'CborError';
  }
}

/** Deeper nesting than this is refused (typed) rather than overflowing QuickJS's small stack. */
const MAX_DEPTH = 256;
const TAG_MAP = 259; // "explicit map" (cbor-x writes it before a Map)
const TAG_SELF_DESCRIBED = 55799;

// The writer and the reader are module state and plain functions rather than two classes: encoding
// and decoding are synchronous, and `this.` on every byte was a large share of the codec's
// bytecode (every function and byte of code is in a QuickJS heap for the agent's life).

/**
 * One writer for every encode: a fresh 256-byte buffer per call was most of the cost of encoding
 * a small message. The result is a copy; a buffer that grew past SCRATCH_KEEP is dropped again,
 * so one big value does not pin its size for good.
 */
const SCRATCH_KEEP = 64 * 1024;
let out: Uint8Array;
let outView: DataView;
let outLength = 0;
let encoding = false;

function setOut(bytes: Uint8Array): void {
  out = bytes;
  outView = new DataView(bytes.buffer);
}
setOut(new Uint8Array(256));

export function encodeCbor(value: unknown): Uint8Array {
  // A throwing getter that encodes on its own gets a writer of its own, and the outer one is restored.
  const outer = encoding ? ([out, outLength] as const) : undefined;
  if (outer) setOut(new Uint8Array(256));
  encoding = true;
  outLength = 0;
  try {
    write(value, 0);
    return out.slice(0, outLength);
  } finally {
    if (outer) {
      setOut(outer[0]);
      outLength = outer[1];
    } else {
      encoding = false;
      if (out.length > SCRATCH_KEEP) setOut(new Uint8Array(256));
    }
  }
}

function room(extra: number): void {
  const need = outLength + extra;
  if (need <= out.length) return;
  let size = out.length * 2;
  while (size < need) size *= 2;
  const grown = new Uint8Array(size);
  // The whole buffer: a text item writes its UTF-8 past `outLength` before it writes the header.
  grown.set(out);
  setOut(grown);
}

/** Major type and argument, in the shortest form (what cbor-x writes for lengths and integers). */
function head(major: number, argument: number): void {
  room(9);
  const m = major << 5;
  if (argument < 24) out[outLength++] = m | argument;
  else if (argument < 0x100) {
    out[outLength++] = m | 24;
    out[outLength++] = argument;
  } else if (argument < 0x10000) {
    out[outLength++] = m | 25;
    outView.setUint16(outLength, argument);
    outLength += 2;
  } else {
    out[outLength++] = m | 26;
    outView.setUint32(outLength, argument);
    outLength += 4;
  }
}

// Each kind of item is a case of one function rather than a function of its own: every function
// is ~200 B of a QuickJS heap for the agent's life.
function write(value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new CborError(`value nested deeper than ${MAX_DEPTH} levels`);
  room(9);
  switch (typeof value) {
    case 'undefined':
      out[outLength++] = 0xf7;
      return;
    case 'boolean':
      out[outLength++] = value ? 0xf5 : 0xf4;
      return;
    case 'number':
      if (value >>> 0 === value) return head(0, value);
      if (value < 0 && value >= -0x100000000 && Math.floor(value) === value) return head(1, -1 - value);
      out[outLength++] = 0xfb;
      outView.setFloat64(outLength, value);
      outLength += 8;
      return;
    case 'bigint': {
      const negative = value < BigInt(0);
      const magnitude = negative ? -value - BigInt(1) : value;
      if (magnitude >= BigInt(1) << BigInt(64)) throw new CborError('integer does not fit in 64 bits');
      out[outLength++] = negative ? 0x3b : 0x1b;
      outView.setUint32(outLength, Number(magnitude >> BigInt(32)));
      outView.setUint32(outLength + 4, Number(magnitude & BigInt(0xffffffff)));
      outLength += 8;
      return;
    }
    case 'string': {
      // UTF-8 straight into the buffer (at most 3 bytes per UTF-16 unit), then the header in front.
      const max = value.length * 3;
      const headSize = max < 24 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
      room(headSize + max);
      const start = outLength + headSize;
      const end = utf8EncodeInto(value, out, start);
      const size = end - start;
      const actualHead = size < 24 ? 1 : size < 0x100 ? 2 : size < 0x10000 ? 3 : 5;
      if (actualHead !== headSize) out.copyWithin(outLength + actualHead, start, end);
      head(3, size);
      outLength += size;
      return;
    }
    case 'object':
      break;
    default:
      throw new CborError(`cannot encode a ${typeof value}`);
  }
  if (value === null) {
    out[outLength++] = 0xf6;
    return;
  }
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
    head(2, bytes.length);
    room(bytes.length);
    out.set(bytes, outLength);
    outLength += bytes.length;
    return;
  }
  if (Array.isArray(value)) {
    head(4, value.length);
    for (const inner of value) write(inner, depth + 1);
    return;
  }
  if (value instanceof Map) {
    head(6, TAG_MAP);
    head(5, value.size);
    for (const [key, inner] of value) {
      write(key, depth + 1);
      write(inner, depth + 1);
    }
    return;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Set || value instanceof RegExp || value instanceof Error || typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
    throw new CborError(`cannot encode a ${value.constructor.name} (plain data only)`);
  }
  // A map with a 16-bit count, whatever the size (cbor-x reserves it before it counts), own
  // enumerable keys in for-in order.
  out[outLength++] = 0xb9;
  const countAt = outLength;
  outLength += 2;
  let count = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    write(key, depth + 1);
    write((value as Record<string, unknown>)[key], depth + 1);
    count++;
  }
  if (count >= 0x10000) throw new CborError('object with more than 65535 keys');
  outView.setUint16(countAt, count);
}

const BREAK = Symbol('break');
const EMPTY: Uint8Array = new Uint8Array(0);

// The reader's input while one decode runs (decoding runs no code of the caller's, so it is never re-entered).
let input = EMPTY;
let inView: DataView;
let offset = 0;

/** Decodes exactly one CBOR item; malformed input or trailing bytes are a `CborError`. */
export function decodeCbor(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new CborError('expected one CBOR item, found 0');
  input = bytes;
  inView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  offset = 0;
  try {
    const value = defined(read(0));
    if (offset !== bytes.length) throw new CborError(`expected one CBOR item, found trailing bytes at offset ${offset}`);
    return value;
  } finally {
    input = EMPTY; // the caller's bytes are not held
    inView = undefined as unknown as DataView;
  }
}

function need(count: number): void {
  if (offset + count > input.length) throw new CborError(`malformed CBOR: unexpected end of data at offset ${input.length}`);
}

/**
 * The argument of a head: a number, a BigInt beyond 2^53 - 1, or -1 for indefinite length. With
 * `what` (an array, map, string or chunk) it is a length, which must fit in the data left.
 */
function argument(info: number, what?: string): number | bigint {
  let value: number | bigint = info;
  if (info >= 24) {
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      if (info === 31) return -1;
      throw new CborError(`malformed CBOR: reserved additional information ${info} at offset ${offset - 1}`);
    }
    need(size);
    const at = offset;
    offset += size;
    value = size === 1 ? (input[at] as number) : size === 2 ? inView.getUint16(at) : inView.getUint32(at);
    if (size === 8) {
      value = value * 0x100000000 + inView.getUint32(at + 4);
      if (value > Number.MAX_SAFE_INTEGER) value = (BigInt(inView.getUint32(at)) << BigInt(32)) | BigInt(inView.getUint32(at + 4));
    }
  }
  if (what !== undefined && (typeof value === 'bigint' || value > input.length - offset)) throw new CborError(`malformed CBOR: ${what} length ${value} runs past the end of the data`);
  return value;
}

/** One item; `key` items may be BigInts (map keys become their decimal text). */
function read(depth: number, key = false): unknown {
  if (depth > MAX_DEPTH) throw new CborError(`malformed CBOR: nested deeper than ${MAX_DEPTH} levels`);
  need(1);
  const initial = input[offset++] as number;
  const major = initial >> 5;
  const info = initial & 31;
  switch (major) {
    case 0:
    case 1: {
      const n = argument(info);
      if (n === -1) throw new CborError(`malformed CBOR: indefinite-length integer at offset ${offset - 1}`);
      // -1 - n leaves the safe range at n = 2^53 - 1 already.
      const value = major === 0 ? n : typeof n === 'bigint' || n === Number.MAX_SAFE_INTEGER ? -BigInt(1) - BigInt(n) : -1 - n;
      if (typeof value === 'bigint' && !key) throw new CborError(`integer ${value} is outside ±(2^53 - 1)`);
      return value;
    }
    case 2:
    case 3:
      return string(info, major === 3);
    case 4: {
      const count = info === 31 ? -1 : (argument(info, 'array') as number);
      const items: unknown[] = [];
      for (let i = 0; count === -1 || i < count; i++) {
        const inner = read(depth + 1);
        if (inner === BREAK && count === -1) return items;
        items.push(defined(inner));
      }
      return items;
    }
    case 5: {
      const count = info === 31 ? -1 : (argument(info, 'map') as number);
      const map: Record<string, unknown> = {};
      for (let i = 0; count === -1 || i < count; i++) {
        const rawKey = read(depth + 1, true);
        if (rawKey === BREAK && count === -1) return map;
        // Map keys as object keys: strings as they are, numbers and booleans spelled out, nothing else.
        const key = defined(rawKey);
        if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean' && typeof key !== 'bigint')
          throw new CborError(`map key of type ${key === null ? 'null' : typeof key} (only text and numbers are allowed)`);
        setOwn(map, String(key), defined(read(depth + 1)));
      }
      return map;
    }
    case 6: {
      const tag = argument(info);
      if (tag === TAG_MAP || tag === TAG_SELF_DESCRIBED) return defined(read(depth + 1, key));
      throw new CborError(`unsupported CBOR tag ${tag} at offset ${offset}`);
    }
  }
  // Major type 7: simple values and floats.
  if (info >= 20 && info <= 23) return info === 20 ? false : info === 21 ? true : info === 22 ? null : undefined;
  if (info === 31) return BREAK;
  if (info < 25 || info > 27) throw new CborError(`unsupported CBOR simple value ${info} at offset ${offset - 1}`);
  const size = 1 << (info - 24); // 2, 4 or 8 bytes
  need(size);
  offset += size;
  if (size === 4) return inView.getFloat32(offset - 4);
  if (size === 8) return inView.getFloat64(offset - 8);
  // Half precision.
  const half = inView.getUint16(offset - 2);
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

function defined(value: unknown): unknown {
  if (value === BREAK) throw new CborError(`malformed CBOR: unexpected break at offset ${offset - 1}`);
  return value;
}

function string(info: number, text: boolean): string | Uint8Array {
  let bytes: Uint8Array;
  if (info === 31) {
    // Indefinite length: definite chunks of the same major type up to a break.
    const chunks: Uint8Array[] = [];
    for (;;) {
      need(1);
      const chunkHead = input[offset++] as number;
      if (chunkHead === 0xff) break;
      if (chunkHead >> 5 !== (text ? 3 : 2) || (chunkHead & 31) === 31) throw new CborError(`malformed CBOR: bad chunk in an indefinite-length string at offset ${offset - 1}`);
      const chunkSize = argument(chunkHead & 31, 'chunk') as number;
      chunks.push(input.subarray(offset, (offset += chunkSize)));
    }
    bytes = concatBytes(chunks);
  } else {
    const size = argument(info, text ? 'text' : 'byte string') as number;
    bytes = input.subarray(offset, (offset += size));
  }
  return text ? utf8Decode(bytes) : bytes.slice();
}
