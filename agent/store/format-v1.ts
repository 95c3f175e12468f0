/**
 * Reader for format 1 of the store (agents before the zero-free framing), kept so that stores
 * written in the field still open; the next write compacts them into format 2 (./format.ts).
 *
 *   area header: "DMKV" (format byte 'V') | u32 generation | u32 areaLength | u32 crc32
 *   record:      u8 0xA5 | u8 1 | u16 0 | u32 sequence | u32 payloadLength | payload | u32 crc32 | 0x00 padding
 *
 * A format-1 payload may hold bytes that form a valid record, so this reader never searches for a
 * record after a bad one (that search is what let a torn write apply a record hidden in a value):
 * the log ends at the first record that does not verify, and the rest counts as a torn tail.
 */
import { crc32 } from '../util/crc32.ts';
import type { DecodedRecord, decodePayload, roundUp } from './format.ts';
import type { RecordFormat } from './recovery.ts';

/**
 * What this reader shares with format 2, handed in by recovery rather than imported: this module is
 * a chunk of its own, and importing ./format.ts would split that module out of the store's chunk
 * (every chunk costs a board's QuickJS heap ~1 KB).
 */
export interface SharedCodec {
  decodePayload: typeof decodePayload;
  roundUp: typeof roundUp;
}

const RECORD_MARKER = 0xa5;
const RECORD_VERSION = 1;
const HEADER = 12;
const TRAILER = 4;


/** How many bytes the format-1 record at `offset` spans, from its head (see recordExtent in ./format.ts). */
export function recordExtentV1({ roundUp }: SharedCodec, bytes: Uint8Array, offset: number, writeAlign: number): number | undefined {
  if (offset + HEADER > bytes.length || bytes[offset] !== RECORD_MARKER) return undefined;
  return roundUp(HEADER + new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER).getUint32(8, true) + TRAILER, writeAlign);
}

/** The format-1 record at `offset`, or undefined when none valid starts there. */
export function decodeRecordV1({ decodePayload, roundUp }: SharedCodec, bytes: Uint8Array, offset: number, writeAlign: number): DecodedRecord | undefined {
  if (offset + HEADER > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset);
  if (view.getUint8(0) !== RECORD_MARKER || view.getUint8(1) !== RECORD_VERSION || view.getUint16(2, true) !== 0) return undefined;
  const payloadLength = view.getUint32(8, true);
  if (payloadLength > bytes.length - offset - HEADER - TRAILER) return undefined;
  const length = roundUp(HEADER + payloadLength + TRAILER, writeAlign);
  if (length > bytes.length - offset) return undefined;
  const end = offset + HEADER + payloadLength;
  if (view.getUint32(HEADER + payloadLength, true) !== crc32(bytes.subarray(offset, end))) return undefined;
  const ops = decodePayload(bytes.subarray(offset + HEADER, end));
  return ops ? { ops, sequence: view.getUint32(4, true), length } : undefined;
}

/** Format 1 as recovery reads it (imported by ./recovery.ts only when a store area is in format 1). */
export function format1(codec: SharedCodec): RecordFormat {
  return { headBound: HEADER, extent: (...args) => recordExtentV1(codec, ...args), decode: (...args) => decodeRecordV1(codec, ...args) };
}
