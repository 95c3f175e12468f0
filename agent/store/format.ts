/**
 * On-flash format (version 2) of the journaled key-value store. Pure encode/decode, no I/O.
 *
 * The partition is split into two areas of whole erase blocks. An area starts with a header
 * (magic, format version, generation, CRC) and holds an append-only log of records; the valid
 * area with the highest generation is the live one. Compaction writes the live set into the other
 * area and programs that area's header *last*, so a power cut at any point leaves one complete area.
 *
 *   area header: "DMK" | u8 formatVersion | u32 generation | u32 areaLength | u32 crc32(previous 12 bytes)
 *   record:      u8 0x00 | zeroFree(u32 sequence | u32 payloadLength | payload | u32 crc32(sequence..payload)) | 0xFF padding
 *   payload:     ops, each  u8 kind (1 put, 2 delete) | u16 keyLength | key | [u32 valueLength | value]
 *
 * Every record is one atomic batch: a torn record fails its CRC and none of its ops apply.
 * Records start at `writeAlign` boundaries; all integers are little endian.
 *
 * Why the record is framed this way: values come from outside (a manager can choose them), so a
 * value may contain bytes that look like a whole valid record. A torn write must never make
 * recovery parse from inside a record's payload. Here the only 0x00 byte of a record is its first
 * one (the rest is zero-free encoded, ./zero-free.ts), padding is 0xFF, and recovery only tries to
 * read a record where a 0x00 byte is. Since NOR programming only clears bits, no torn state of a
 * non-zero byte is 0x00, so this holds for any partially programmed write, not only for a prefix.
 *
 * Format 1 (header "DMKV", 0xA5-marked records with raw payloads, ./format-v1.ts) is still read,
 * so stores in the field open; their next write rewrites them in format 2.
 */
import { concatBytes, utf8Decode, utf8Encode } from '../util/bytes.ts';
import { crc32 } from '../util/crc32.ts';
import { ZeroFreeReader, encodeZeroFree, zeroFreeBound } from './zero-free.ts';

export const AREA_MAGIC = [0x44, 0x4d, 0x4b] as const; // "DMK"
export const FORMAT_VERSION = 2;
/** Format 1 had "DMKV": its version byte reads as 'V'. */
export const FORMAT_V1 = 0x56;
export const AREA_HEADER_LENGTH = 16;
export const RECORD_START = 0x00;
/** sequence + payloadLength, before zero-free encoding. */
const RECORD_HEAD = 8;
const RECORD_CRC = 4;
export const MAX_KEY_BYTES = 1024;

export type StoreOp = { kind: 'put'; key: string; value: Uint8Array } | { kind: 'delete'; key: string };

export function roundUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export function encodeAreaHeader(generation: number, areaLength: number, version = FORMAT_VERSION): Uint8Array {
  const out = new Uint8Array(AREA_HEADER_LENGTH);
  const view = new DataView(out.buffer);
  out.set(AREA_MAGIC);
  out[3] = version;
  view.setUint32(4, generation >>> 0, true);
  view.setUint32(8, areaLength >>> 0, true);
  view.setUint32(12, crc32(out.subarray(0, 12)), true);
  return out;
}

export interface AreaHeader {
  generation: number;
  /** Format version byte: FORMAT_VERSION, FORMAT_V1 or one this code does not know. */
  version: number;
}

/** A header with a valid magic and CRC for this area length, or undefined (erased, torn, foreign). */
export function decodeAreaHeader(bytes: Uint8Array, areaLength: number): AreaHeader | undefined {
  if (bytes.length < AREA_HEADER_LENGTH) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, AREA_HEADER_LENGTH);
  if (bytes[0] !== AREA_MAGIC[0] || bytes[1] !== AREA_MAGIC[1] || bytes[2] !== AREA_MAGIC[2]) return undefined;
  if (view.getUint32(12, true) !== crc32(bytes.subarray(0, 12))) return undefined;
  if (view.getUint32(8, true) !== areaLength) return undefined;
  return { generation: view.getUint32(4, true), version: bytes[3] as number };
}

/** Encoded length of a put op of a `valueLength`-byte value under `key`, without building it. */
export function putLength(key: string, valueLength: number): number {
  return 7 + utf8Encode(key).length + valueLength;
}

export function encodePayload(ops: readonly StoreOp[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const op of ops) {
    const key = utf8Encode(op.key);
    const head = new Uint8Array(op.kind === 'put' ? 7 : 3);
    const view = new DataView(head.buffer);
    view.setUint8(0, op.kind === 'put' ? 1 : 2);
    view.setUint16(1, key.length, true);
    if (op.kind === 'put') {
      parts.push(head.subarray(0, 3), key);
      view.setUint32(3, op.value.length, true);
      parts.push(head.subarray(3, 7), op.value);
    } else {
      parts.push(head, key);
    }
  }
  return concatBytes(parts);
}

/** Decodes a payload whose CRC already matched; a structural error means a writer bug or tampering. */
export function decodePayload(payload: Uint8Array): StoreOp[] | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const ops: StoreOp[] = [];
  let offset = 0;
  while (offset < payload.length) {
    if (offset + 3 > payload.length) return undefined;
    const kind = view.getUint8(offset);
    const keyLength = view.getUint16(offset + 1, true);
    offset += 3;
    if (keyLength === 0 || keyLength > MAX_KEY_BYTES || offset + keyLength > payload.length) return undefined;
    const key = utf8Decode(payload.subarray(offset, offset + keyLength));
    // Our writer only stores valid UTF-8; malformed bytes would decode to a longer key (U+FFFD).
    if (utf8Encode(key).length !== keyLength) return undefined;
    offset += keyLength;
    if (kind === 2) {
      ops.push({ kind: 'delete', key });
    } else if (kind === 1) {
      if (offset + 4 > payload.length) return undefined;
      const valueLength = view.getUint32(offset, true);
      offset += 4;
      if (offset + valueLength > payload.length) return undefined;
      ops.push({ kind: 'put', key, value: payload.slice(offset, offset + valueLength) });
      offset += valueLength;
    } else return undefined;
  }
  return ops;
}

/** A whole record, padded with 0xFF (left erased) to `writeAlign`. */
export function encodeRecord(sequence: number, payload: Uint8Array, writeAlign: number): Uint8Array {
  const body = new Uint8Array(RECORD_HEAD + payload.length + RECORD_CRC);
  const view = new DataView(body.buffer);
  view.setUint32(0, sequence >>> 0, true);
  view.setUint32(4, payload.length, true);
  body.set(payload, RECORD_HEAD);
  view.setUint32(RECORD_HEAD + payload.length, crc32(body.subarray(0, RECORD_HEAD + payload.length)), true);
  const encoded = encodeZeroFree(body);
  const out = new Uint8Array(roundUp(1 + encoded.length, writeAlign)).fill(0xff);
  out[0] = RECORD_START;
  out.set(encoded, 1);
  return out;
}

/**
 * The most bytes a record with a payload of `payloadLength` bytes can take, whatever its
 * sequence number and CRC (their zero bytes change the encoded length by a little).
 */
export function recordBound(payloadLength: number, writeAlign: number): number {
  return roundUp(1 + zeroFreeBound(RECORD_HEAD + payloadLength + RECORD_CRC), writeAlign);
}

export interface DecodedRecord {
  ops: StoreOp[];
  sequence: number;
  /** Record length including padding. */
  length: number;
}

/** Bytes from `offset` that hold a record's head, whatever its zero-free encoding. */
export const RECORD_HEAD_BOUND = 1 + zeroFreeBound(RECORD_HEAD);

/**
 * How many bytes from `offset` the record starting there can span at most, read from its head
 * (`bytes` holds at least RECORD_HEAD_BOUND of them, or the area's end); undefined when no
 * record head starts there. Lets recovery read a record whole without reading the whole area.
 */
export function recordExtent(bytes: Uint8Array, offset: number, writeAlign: number): number | undefined {
  if (bytes[offset] !== RECORD_START) return undefined;
  const head = new Uint8Array(RECORD_HEAD);
  if (!new ZeroFreeReader(bytes, offset + 1, bytes.length).read(head)) return undefined;
  return recordBound(new DataView(head.buffer).getUint32(4, true), writeAlign);
}

/** The record starting at `offset` (a `writeAlign` multiple), or undefined when none valid starts there. */
export function decodeRecord(bytes: Uint8Array, offset: number, writeAlign: number): DecodedRecord | undefined {
  if (bytes[offset] !== RECORD_START) return undefined;
  const reader = new ZeroFreeReader(bytes, offset + 1, bytes.length);
  const head = new Uint8Array(RECORD_HEAD);
  if (!reader.read(head)) return undefined;
  const headView = new DataView(head.buffer);
  const payloadLength = headView.getUint32(4, true);
  // Every encoded byte is at most one decoded byte: reject lengths the rest of the area cannot hold.
  if (payloadLength + RECORD_CRC > bytes.length - reader.offset) return undefined;
  const rest = new Uint8Array(payloadLength + RECORD_CRC);
  if (!reader.read(rest) || !reader.finish()) return undefined;
  const crc = new DataView(rest.buffer).getUint32(payloadLength, true);
  if (crc !== crc32(rest.subarray(0, payloadLength), crc32(head))) return undefined;
  const length = roundUp(reader.offset - offset, writeAlign);
  if (offset + length > bytes.length) return undefined;
  // Padding is never programmed: anything else there means this is not what the writer wrote.
  for (let i = reader.offset; i < offset + length; i++) if (bytes[i] !== 0xff) return undefined;
  const ops = decodePayload(rest.subarray(0, payloadLength));
  return ops ? { ops, sequence: headView.getUint32(0, true), length } : undefined;
}

/**
 * Whether every byte is `eraseValue`. Every boot runs it over the blank rest of each store area
 * (megabytes for the package DB), so it compares 32-bit words between an unaligned head and tail:
 * 4× fewer steps (issue 12: ~20 ms of a 0.3 s `run --once` went here byte by byte).
 */
export function isErased(bytes: Uint8Array, eraseValue: number): boolean {
  const length = bytes.length;
  let i = 0;
  for (; i < length && (bytes.byteOffset + i) % 4 !== 0; i++) if (bytes[i] !== eraseValue) return false;
  const words = (length - i) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    const word = ((eraseValue & 0xff) * 0x01010101) >>> 0;
    for (let k = 0; k < words; k++) if (view[k] !== word) return false;
    i += words * 4;
  }
  for (; i < length; i++) if (bytes[i] !== eraseValue) return false;
  return true;
}
