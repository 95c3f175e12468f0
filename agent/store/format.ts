/**
 * On-flash format of the journaled key-value store. Pure encode/decode, no I/O.
 *
 * The partition is split into two areas of whole erase blocks. An area starts with a header
 * (magic, generation, CRC) and holds an append-only log of records; the valid area with the
 * highest generation is the live one. Compaction writes the live set into the other area and
 * programs that area's header *last*, so a power cut at any point leaves one complete area.
 *
 *   area header: "DMKV" | u32 generation | u32 areaLength | u32 crc32(previous 12 bytes)
 *   record:      u8 0xA5 | u8 version | u16 0 | u32 sequence | u32 payloadLength | payload | u32 crc32
 *   payload:     ops, each  u8 kind (1 put, 2 delete) | u16 keyLength | key | [u32 valueLength | value]
 *
 * Every record is one atomic batch: a torn record fails its CRC and none of its ops apply.
 * All integers little endian. Records start at `writeAlign` boundaries; padding is 0x00.
 */
import { concatBytes, utf8Decode, utf8Encode } from '../util/bytes.ts';
import { crc32 } from '../util/crc32.ts';

export const AREA_MAGIC = 0x564b4d44; // "DMKV" read as little-endian u32
export const AREA_HEADER_LENGTH = 16;
export const RECORD_MARKER = 0xa5;
export const RECORD_VERSION = 1;
export const RECORD_HEADER_LENGTH = 12;
export const RECORD_TRAILER_LENGTH = 4;
export const MAX_KEY_BYTES = 1024;

export type StoreOp = { kind: 'put'; key: string; value: Uint8Array } | { kind: 'delete'; key: string };

export function roundUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export function encodeAreaHeader(generation: number, areaLength: number): Uint8Array {
  const out = new Uint8Array(AREA_HEADER_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, AREA_MAGIC, true);
  view.setUint32(4, generation >>> 0, true);
  view.setUint32(8, areaLength >>> 0, true);
  view.setUint32(12, crc32(out.subarray(0, 12)), true);
  return out;
}

/** The generation of a valid header, or undefined for an erased, torn or foreign one. */
export function decodeAreaHeader(bytes: Uint8Array, areaLength: number): number | undefined {
  if (bytes.length < AREA_HEADER_LENGTH) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, AREA_HEADER_LENGTH);
  if (view.getUint32(0, true) !== AREA_MAGIC) return undefined;
  if (view.getUint32(12, true) !== crc32(bytes.subarray(0, 12))) return undefined;
  if (view.getUint32(8, true) !== areaLength) return undefined;
  return view.getUint32(4, true);
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
    if (offset + keyLength > payload.length) return undefined;
    const key = utf8Decode(payload.subarray(offset, offset + keyLength));
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

/** A whole record, padded with zeros to `writeAlign`. */
export function encodeRecord(sequence: number, payload: Uint8Array, writeAlign: number): Uint8Array {
  const length = RECORD_HEADER_LENGTH + payload.length + RECORD_TRAILER_LENGTH;
  const out = new Uint8Array(roundUp(length, writeAlign));
  const view = new DataView(out.buffer);
  view.setUint8(0, RECORD_MARKER);
  view.setUint8(1, RECORD_VERSION);
  view.setUint32(4, sequence >>> 0, true);
  view.setUint32(8, payload.length, true);
  out.set(payload, RECORD_HEADER_LENGTH);
  view.setUint32(RECORD_HEADER_LENGTH + payload.length, crc32(out.subarray(0, RECORD_HEADER_LENGTH + payload.length)), true);
  return out;
}

export interface RecordHeader {
  sequence: number;
  payloadLength: number;
  /** Record length including padding. */
  paddedLength: number;
}

/** Parses a record header; undefined when it cannot start a record that fits in `room` bytes. */
export function parseRecordHeader(bytes: Uint8Array, writeAlign: number, room: number): RecordHeader | undefined {
  if (bytes.length < RECORD_HEADER_LENGTH) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_HEADER_LENGTH);
  if (view.getUint8(0) !== RECORD_MARKER || view.getUint8(1) !== RECORD_VERSION || view.getUint16(2, true) !== 0) return undefined;
  const payloadLength = view.getUint32(8, true);
  const paddedLength = roundUp(RECORD_HEADER_LENGTH + payloadLength + RECORD_TRAILER_LENGTH, writeAlign);
  if (paddedLength > room) return undefined;
  return { sequence: view.getUint32(4, true), payloadLength, paddedLength };
}

/** True when `record` (header + payload + crc, padding allowed after) carries a matching CRC. */
export function recordCrcMatches(record: Uint8Array, payloadLength: number): boolean {
  const end = RECORD_HEADER_LENGTH + payloadLength;
  if (record.length < end + RECORD_TRAILER_LENGTH) return false;
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  return view.getUint32(end, true) === crc32(record.subarray(0, end));
}

export function isErased(bytes: Uint8Array, eraseValue: number): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== eraseValue) return false;
  return true;
}
