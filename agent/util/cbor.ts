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
import { utf8Decode, utf8EncodeInto } from './bytes.ts';
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

/**
 * One writer for every encode: encoding is synchronous and never re-entered, and a fresh 256-byte
 * buffer per call was most of the cost of encoding a small message. The result is a copy; a buffer
 * that grew past SCRATCH_KEEP is dropped again, so one big value does not pin its size for good.
 */
const SCRATCH_KEEP = 64 * 1024;
let scratch: Writer | undefined;

export function encodeCbor(value: unknown): Uint8Array {
  const writer = scratch ?? new Writer();
  scratch = undefined; // a throwing getter that encodes on its own gets a writer of its own
  writer.length = 0;
  try {
    writer.item(value, 0);
    return writer.bytes.slice(0, writer.length);
  } finally {
    if (writer.bytes.length <= SCRATCH_KEEP) scratch = writer;
  }
}

/** Decodes exactly one CBOR item; malformed input or trailing bytes are a `CborError`. */
export function decodeCbor(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes);
  if (bytes.length === 0) throw new CborError('expected one CBOR item, found 0');
  const value = reader.defined(reader.item(0));
  if (reader.offset !== bytes.length) throw new CborError(`expected one CBOR item, found trailing bytes at offset ${reader.offset}`);
  return value;
}

// Fields declared and set in the constructors (here and in Reader): a class's field initializer
// is one more function in a QuickJS heap. Each kind of item is a case of one method rather than a
// method of its own: every function is ~200 B of a QuickJS heap for the agent's life.
class Writer {
  declare bytes: Uint8Array;
  declare length: number;
  private declare view: DataView;

  constructor() {
    this.bytes = new Uint8Array(256);
    this.length = 0;
    this.view = new DataView(this.bytes.buffer);
  }

  private room(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    // The whole buffer: a text item writes its UTF-8 past `length` before it writes the header.
    grown.set(this.bytes);
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Major type and argument, in the shortest form (what cbor-x writes for lengths and integers). */
  private head(major: number, argument: number): void {
    this.room(9);
    const m = major << 5;
    if (argument < 24) this.bytes[this.length++] = m | argument;
    else if (argument < 0x100) {
      this.bytes[this.length++] = m | 24;
      this.bytes[this.length++] = argument;
    } else if (argument < 0x10000) {
      this.bytes[this.length++] = m | 25;
      this.view.setUint16(this.length, argument);
      this.length += 2;
    } else {
      this.bytes[this.length++] = m | 26;
      this.view.setUint32(this.length, argument);
      this.length += 4;
    }
  }

  item(value: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new CborError(`value nested deeper than ${MAX_DEPTH} levels`);
    this.room(9);
    switch (typeof value) {
      case 'undefined':
        this.bytes[this.length++] = 0xf7;
        return;
      case 'boolean':
        this.bytes[this.length++] = value ? 0xf5 : 0xf4;
        return;
      case 'number':
        if (value >>> 0 === value) return this.head(0, value);
        if (value < 0 && value >= -0x100000000 && Math.floor(value) === value) return this.head(1, -1 - value);
        this.bytes[this.length++] = 0xfb;
        this.view.setFloat64(this.length, value);
        this.length += 8;
        return;
      case 'bigint': {
        const negative = value < BigInt(0);
        const magnitude = negative ? -value - BigInt(1) : value;
        if (magnitude >= BigInt(1) << BigInt(64)) throw new CborError('integer does not fit in 64 bits');
        this.bytes[this.length++] = negative ? 0x3b : 0x1b;
        this.view.setUint32(this.length, Number(magnitude >> BigInt(32)));
        this.view.setUint32(this.length + 4, Number(magnitude & BigInt(0xffffffff)));
        this.length += 8;
        return;
      }
      case 'string': {
        // UTF-8 straight into the buffer (at most 3 bytes per UTF-16 unit), then the header in front.
        const max = value.length * 3;
        const headSize = max < 24 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
        this.room(headSize + max);
        const start = this.length + headSize;
        const end = utf8EncodeInto(value, this.bytes, start);
        const size = end - start;
        const actualHead = size < 24 ? 1 : size < 0x100 ? 2 : size < 0x10000 ? 3 : 5;
        if (actualHead !== headSize) this.bytes.copyWithin(this.length + actualHead, start, end);
        this.head(3, size);
        this.length += size;
        return;
      }
      case 'object':
        break;
      default:
        throw new CborError(`cannot encode a ${typeof value}`);
    }
    if (value === null) {
      this.bytes[this.length++] = 0xf6;
      return;
    }
    if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
      const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
      this.head(2, bytes.length);
      this.room(bytes.length);
      this.bytes.set(bytes, this.length);
      this.length += bytes.length;
      return;
    }
    if (Array.isArray(value)) {
      this.head(4, value.length);
      for (const inner of value) this.item(inner, depth + 1);
      return;
    }
    if (value instanceof Map) {
      this.head(6, TAG_MAP);
      this.head(5, value.size);
      for (const [key, inner] of value) {
        this.item(key, depth + 1);
        this.item(inner, depth + 1);
      }
      return;
    }
    if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Set || value instanceof RegExp || value instanceof Error || typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
      throw new CborError(`cannot encode a ${value.constructor.name} (plain data only)`);
    }
    // A map with a 16-bit count, whatever the size (cbor-x reserves it before it counts), own
    // enumerable keys in for-in order.
    this.bytes[this.length++] = 0xb9;
    const countAt = this.length;
    this.length += 2;
    let count = 0;
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      this.item(key, depth + 1);
      this.item((value as Record<string, unknown>)[key], depth + 1);
      count++;
    }
    if (count >= 0x10000) throw new CborError('object with more than 65535 keys');
    this.view.setUint16(countAt, count);
  }
}

const BREAK = Symbol('break');

class Reader {
  declare offset: number;
  private declare readonly view: DataView;
  private declare readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.offset = 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.bytes = bytes;
  }

  private need(count: number): void {
    if (this.offset + count > this.bytes.length) throw new CborError(`malformed CBOR: unexpected end of data at offset ${this.bytes.length}`);
  }

  /** The argument of a head: a number, a BigInt beyond 2^53 - 1, or -1 for indefinite length. */
  private argument(info: number): number | bigint {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      if (info === 31) return -1;
      throw new CborError(`malformed CBOR: reserved additional information ${info} at offset ${this.offset - 1}`);
    }
    this.need(size);
    const at = this.offset;
    this.offset += size;
    if (size === 1) return this.bytes[at] as number;
    if (size === 2) return this.view.getUint16(at);
    if (size === 4) return this.view.getUint32(at);
    const value = this.view.getUint32(at) * 0x100000000 + this.view.getUint32(at + 4);
    return value <= Number.MAX_SAFE_INTEGER ? value : (BigInt(this.view.getUint32(at)) << BigInt(32)) | BigInt(this.view.getUint32(at + 4));
  }

  private length(info: number, what: string): number {
    const value = this.argument(info);
    if (typeof value === 'bigint' || value > this.bytes.length - this.offset) {
      if (value !== -1) throw new CborError(`malformed CBOR: ${what} length ${value} runs past the end of the data`);
    }
    return value as number;
  }

  /** One item; `key` items may be BigInts (map keys become their decimal text). */
  item(depth: number, key = false): unknown {
    if (depth > MAX_DEPTH) throw new CborError(`malformed CBOR: nested deeper than ${MAX_DEPTH} levels`);
    this.need(1);
    const initial = this.bytes[this.offset++] as number;
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0:
      case 1: {
        const n = this.argument(info);
        if (n === -1) throw new CborError(`malformed CBOR: indefinite-length integer at offset ${this.offset - 1}`);
        // -1 - n leaves the safe range at n = 2^53 - 1 already.
        const value = major === 0 ? n : typeof n === 'bigint' || n === Number.MAX_SAFE_INTEGER ? -BigInt(1) - BigInt(n) : -1 - n;
        if (typeof value === 'bigint' && !key) throw new CborError(`integer ${value} is outside ±(2^53 - 1)`);
        return value;
      }
      case 2:
        return this.string(info, false);
      case 3:
        return this.string(info, true);
      case 4: {
        const count = this.length(info, 'array');
        const out: unknown[] = [];
        if (count === -1) {
          for (;;) {
            const inner = this.item(depth + 1);
            if (inner === BREAK) return out;
            out.push(inner);
          }
        }
        for (let i = 0; i < count; i++) out.push(this.defined(this.item(depth + 1)));
        return out;
      }
      case 5: {
        const count = this.length(info, 'map');
        const out: Record<string, unknown> = {};
        for (let i = 0; count === -1 || i < count; i++) {
          const rawKey = this.item(depth + 1, true);
          if (rawKey === BREAK && count === -1) return out;
          // Map keys as object keys: strings as they are, numbers and booleans spelled out, nothing else.
          const key = this.defined(rawKey);
          if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean' && typeof key !== 'bigint')
            throw new CborError(`map key of type ${key === null ? 'null' : typeof key} (only text and numbers are allowed)`);
          setOwn(out, String(key), this.defined(this.item(depth + 1)));
        }
        return out;
      }
      case 6: {
        const tag = this.argument(info);
        if (tag === TAG_MAP || tag === TAG_SELF_DESCRIBED) return this.defined(this.item(depth + 1, key));
        throw new CborError(`unsupported CBOR tag ${tag} at offset ${this.offset}`);
      }
      default:
        switch (info) {
          case 20:
            return false;
          case 21:
            return true;
          case 22:
            return null;
          case 23:
            return undefined;
          case 25: {
            // Half precision.
            this.need(2);
            const half = this.view.getUint16(this.offset);
            this.offset += 2;
            const exponent = (half >> 10) & 0x1f;
            const fraction = half & 0x3ff;
            const sign = half & 0x8000 ? -1 : 1;
            if (exponent === 0) return sign * fraction * 2 ** -24;
            if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
            return sign * (1024 + fraction) * 2 ** (exponent - 25);
          }
          case 26:
            this.need(4);
            this.offset += 4;
            return this.view.getFloat32(this.offset - 4);
          case 27:
            this.need(8);
            this.offset += 8;
            return this.view.getFloat64(this.offset - 8);
          case 31:
            return BREAK;
          default:
            throw new CborError(`unsupported CBOR simple value ${info} at offset ${this.offset - 1}`);
        }
    }
  }

  defined(value: unknown): unknown {
    if (value === BREAK) throw new CborError(`malformed CBOR: unexpected break at offset ${this.offset - 1}`);
    return value;
  }

  private string(info: number, text: boolean): string | Uint8Array {
    const size = this.length(info, text ? 'text' : 'byte string');
    let bytes: Uint8Array;
    if (size === -1) {
      // Indefinite length: definite chunks of the same major type up to a break.
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        this.need(1);
        if (this.bytes[this.offset] === 0xff) {
          this.offset++;
          break;
        }
        const chunkHead = this.bytes[this.offset++] as number;
        if (chunkHead >> 5 !== (text ? 3 : 2) || (chunkHead & 31) === 31) throw new CborError(`malformed CBOR: bad chunk in an indefinite-length string at offset ${this.offset - 1}`);
        const chunkSize = this.length(chunkHead & 31, 'chunk');
        this.need(chunkSize);
        const chunk = this.bytes.subarray(this.offset, (this.offset += chunkSize));
        chunks.push(chunk);
        total += chunk.length;
      }
      bytes = new Uint8Array(total);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
    } else {
      this.need(size);
      bytes = this.bytes.subarray(this.offset, (this.offset += size));
    }
    return text ? utf8Decode(bytes) : bytes.slice();
  }
}
