/**
 * Opening the store: find the live area and replay its log (format in ./format.ts).
 *
 * A power cut only ever tears the last record, and nothing is appended after a torn one, so a bad
 * record followed only by erased or unparseable bytes is a torn tail; a bad record followed by a
 * good one is damage (reported, then skipped). The search for "a good one" only looks where a
 * record can start (a 0x00 byte, which no record holds inside itself, torn or not), so it can never
 * pick up a record hidden in the payload of the torn write.
 */
import { AREA_HEADER_LENGTH, type AreaHeader, FORMAT_V1, FORMAT_VERSION, type DecodedRecord, decodeAreaHeader, decodePayload, decodeRecord, isErased, RECORD_HEAD_BOUND, RECORD_START, recordExtent, roundUp, type StoreOp } from './format.ts';
import { StoreFormatError } from './errors.ts';
import { type HeldValue, hold } from './held-value.ts';

/** How records of one on-flash format are read: the current one here, format 1 in ./format-v1.ts (a chunk, loaded only for such a store). */
export interface RecordFormat {
  /** Bytes from a record's start that hold its head. */
  headBound: number;
  extent(bytes: Uint8Array, offset: number, writeAlign: number): number | undefined;
  decode(bytes: Uint8Array, offset: number, writeAlign: number): DecodedRecord | undefined;
}

const CURRENT: RecordFormat = { headBound: RECORD_HEAD_BOUND, extent: recordExtent, decode: decodeRecord };

export interface StoreCorruption {
  kind: 'damagedRecord' | 'noValidArea';
  area: number;
  offset: number;
  detail: string;
}

export interface StoreOpenReport {
  /** The medium was blank: a new store. */
  fresh: boolean;
  /** Generation of the live area (0 when fresh). */
  generation: number;
  /** On-flash format of the live area as found (the next write rewrites an older one in the current format). */
  format: number;
  /** Records replayed from the live area. */
  records: number;
  /** The log ended in a torn record (an interrupted write): normal after a power cut. */
  tornTail: boolean;
  /** Damage a power cut cannot explain. Empty on a healthy medium. */
  corruption: StoreCorruption[];
}

export interface ScanGeometry {
  areaLength: number;
  dataStart: number;
  writeAlign: number;
  eraseValue: number;
}

export interface ScanResult {
  values: Map<string, HeldValue>;
  liveArea: number | undefined;
  generation: number;
  appendOffset: number;
  sequence: number;
  /** The live area must be rewritten before anything is appended (torn tail, damage, old format). */
  needsCompaction: boolean;
  report: StoreOpenReport;
}

/** Reads `length` bytes of the partition at `offset` (the store's flash partition). */
export type PartitionReader = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Bytes read at a time while scanning. The areas are never read whole: on a small board's
 * QuickJS heap a 256 KiB package-DB partition read at once was most of the agent's peak. A
 * record longer than this is read whole (it must be checked whole), so memory is bounded by
 * max(SCAN_CHUNK_BYTES, the largest record).
 */
export const SCAN_CHUNK_BYTES = 4096;

/**
 * Bytes read at a time when checking that the rest of an area is erased (a blank store, the free
 * tail after the last record): a sixteenth of the area, between SCAN_CHUNK_BYTES and 256 KiB. These
 * bytes are only compared and dropped, never kept in the window. What costs is the number of reads
 * (each a round trip to the flash driver: on the Node HAL a thread-pool job, 0.4–1 ms on a loaded
 * machine), not the bytes: at 4 KiB a step a blank 8 MiB package DB took 2 048 reads in series,
 * most of a no-op `run --once` (issue 12); at 256 KiB it takes 32. A small board's area, sized for
 * its memory, is still read in small steps (128 KiB: 8 KiB at a time).
 */
export function erasedCheckBytes(areaLength: number): number {
  return Math.max(SCAN_CHUNK_BYTES, Math.min(256 * 1024, Math.floor(areaLength / 16)));
}

/**
 * A window on one area: the bytes of the last read, re-read only when a span falls outside it.
 * Offsets are area-relative.
 */
class AreaWindow {
  // Declared and set in the constructor: a class's field initializer is one more function in a QuickJS heap.
  private declare bytes: Uint8Array;
  private declare start: number;
  private declare readonly read: PartitionReader;
  private declare readonly base: number;
  declare readonly length: number;

  constructor(read: PartitionReader, base: number, length: number) {
    this.bytes = new Uint8Array(0);
    this.start = 0;
    this.read = read;
    this.base = base;
    this.length = length;
  }

  /** A buffer holding [offset, offset + length) clamped to the area, and where the buffer starts. */
  async span(offset: number, length: number): Promise<{ bytes: Uint8Array; start: number }> {
    const end = Math.min(this.length, offset + length);
    if (offset < this.start || end > this.start + this.bytes.length) {
      const readEnd = Math.min(this.length, Math.max(end, offset + SCAN_CHUNK_BYTES));
      this.bytes = await this.read(this.base + offset, readEnd - offset);
      this.start = offset;
    }
    return { bytes: this.bytes, start: this.start };
  }

  /** Every byte from `offset` to the area's end is `eraseValue`. */
  async erasedFrom(offset: number, eraseValue: number): Promise<boolean> {
    const step = erasedCheckBytes(this.length);
    for (let at = offset; at < this.length; ) {
      // What the window already holds is checked without a read; the rest is read a step at a time.
      const held = at >= this.start && at < this.start + this.bytes.length;
      const end = held ? this.start + this.bytes.length : Math.min(this.length, at + step);
      const bytes = held ? this.bytes.subarray(at - this.start) : await this.read(this.base + at, end - at);
      if (!isErased(bytes, eraseValue)) return false;
      at = end;
    }
    return true;
  }

  /** The record at `offset`, read whole (its head says how long it can be), or undefined. */
  async record(offset: number, writeAlign: number, format: RecordFormat): Promise<DecodedRecord | undefined> {
    const head = await this.span(offset, format.headBound);
    const extent = format.extent(head.bytes, offset - head.start, writeAlign);
    if (extent === undefined) return undefined;
    const { bytes, start } = await this.span(offset, Math.min(extent, this.length - offset));
    // The decoder sees the record and what follows it up to the window's end (or the area's).
    return format.decode(bytes, offset - start, writeAlign);
  }
}

/** Replays the two areas of the partition, a chunk at a time. Throws only StoreFormatError (an area of a newer format). */
export async function scanAreas(read: PartitionReader, geometry: ScanGeometry): Promise<ScanResult> {
  const { areaLength, dataStart, eraseValue } = geometry;
  const areas = [new AreaWindow(read, 0, areaLength), new AreaWindow(read, areaLength, areaLength)];
  const headers: (AreaHeader | undefined)[] = [];
  for (const area of areas) headers.push(decodeAreaHeader((await area.span(0, AREA_HEADER_LENGTH)).bytes.subarray(0, AREA_HEADER_LENGTH), areaLength));
  const report: StoreOpenReport = { fresh: false, generation: 0, format: FORMAT_VERSION, records: 0, tornTail: false, corruption: [] };
  const values = new Map<string, HeldValue>();

  let liveArea: number | undefined;
  for (let area = 0; area < areas.length; area++) {
    const header = headers[area];
    if (header === undefined) continue;
    // A newer agent's store: refuse rather than compact over it (a downgrade must not lose data).
    if (header.version !== FORMAT_VERSION && header.version !== FORMAT_V1)
      throw new StoreFormatError(`store area ${area} has on-flash format ${header.version}; this agent reads formats 1 and ${FORMAT_VERSION}`, header.version);
    if (liveArea === undefined || newer(header.generation, headers[liveArea]?.generation as number)) liveArea = area;
  }
  if (liveArea === undefined) {
    // Blank medium, or a torn header from the very first format: both are a fresh store.
    let explained = true;
    for (const area of areas) explained = explained && (await area.erasedFrom(dataStart, eraseValue));
    report.fresh = explained;
    if (!explained) report.corruption.push({ kind: 'noValidArea', area: 0, offset: 0, detail: 'no area has a valid header but the medium holds data' });
    return { values, liveArea: undefined, generation: 0, appendOffset: dataStart, sequence: 0, needsCompaction: true, report };
  }

  const area = areas[liveArea] as AreaWindow;
  const header = headers[liveArea] as AreaHeader;
  report.generation = header.generation;
  report.format = header.version === FORMAT_V1 ? 1 : FORMAT_VERSION;
  const legacy = header.version === FORMAT_V1;
  const format = legacy ? (await import('./format-v1.ts')).format1({ decodePayload, roundUp }) : CURRENT;
  let offset = dataStart;
  let sequence = 0;
  while (offset < areaLength) {
    const record = await area.record(offset, geometry.writeAlign, format);
    if (record && record.sequence > sequence) {
      applyOps(values, record.ops);
      sequence = record.sequence;
      offset += record.length;
      report.records++;
      continue;
    }
    if (await area.erasedFrom(offset, eraseValue)) break;
    // Format 1 cannot tell a record from bytes inside a value: never search past a bad record there.
    const resume = legacy ? undefined : await findNextRecord(area, offset, geometry.writeAlign, sequence);
    if (resume === undefined) {
      report.tornTail = true;
      break;
    }
    report.corruption.push({ kind: 'damagedRecord', area: liveArea, offset, detail: `${resume - offset} bytes unreadable before the next valid record` });
    offset = resume;
  }
  const needsCompaction = legacy || report.tornTail || report.corruption.length > 0;
  return { values, liveArea, generation: header.generation, appendOffset: report.tornTail ? areaLength : offset, sequence, needsCompaction, report };
}

/** Serial-number order of u32 generations, so the count may wrap (compaction writes live + 1 mod 2^32). */
function newer(a: number, b: number): boolean {
  const distance = (a - b) >>> 0;
  return distance !== 0 && distance < 0x80000000;
}

/** The next offset after `from` where a valid record with a higher sequence starts (only 0x00 bytes can start one). */
async function findNextRecord(area: AreaWindow, from: number, writeAlign: number, previousSequence: number): Promise<number | undefined> {
  for (let offset = from + writeAlign; offset < area.length; offset += writeAlign) {
    const { bytes, start } = await area.span(offset, 1);
    if (bytes[offset - start] !== RECORD_START) continue;
    const record = await area.record(offset, writeAlign, CURRENT);
    if (record && record.sequence > previousSequence) return offset;
  }
  return undefined;
}

/** Applies ops to a live set; a put's value is copied (./held-value.ts), never kept as given. */
export function applyOps(values: Map<string, HeldValue>, ops: readonly StoreOp[]): void {
  for (const op of ops) {
    if (op.kind === 'put') values.set(op.key, hold(op.value));
    else values.delete(op.key);
  }
}
