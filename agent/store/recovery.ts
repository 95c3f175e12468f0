/**
 * Opening the store: find the live area and replay its log (format in ./format.ts).
 *
 * A power cut only ever tears the last record, and nothing is appended after a torn one, so a bad
 * record followed only by erased or unparseable bytes is a torn tail; a bad record followed by a
 * good one is damage (reported, then skipped). The search for "a good one" only looks where a
 * record can start (a 0x00 byte, which no record holds inside itself, torn or not), so it can never
 * pick up a record hidden in the payload of the torn write.
 */
import { FORMAT_V1, FORMAT_VERSION, type DecodedRecord, decodeAreaHeader, decodeRecord, isErased, RECORD_START, type StoreOp } from './format.ts';
import { decodeRecordV1 } from './format-v1.ts';
import { StoreFormatError } from './errors.ts';

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
  values: Map<string, Uint8Array>;
  liveArea: number | undefined;
  generation: number;
  appendOffset: number;
  sequence: number;
  /** The live area must be rewritten before anything is appended (torn tail, damage, old format). */
  needsCompaction: boolean;
  report: StoreOpenReport;
}

/** Replays the two areas' bytes. Throws only StoreFormatError (an area of a newer format). */
export function scanAreas(areas: readonly Uint8Array[], geometry: ScanGeometry): ScanResult {
  const { areaLength, dataStart, eraseValue } = geometry;
  const headers = areas.map((bytes) => decodeAreaHeader(bytes, areaLength));
  const report: StoreOpenReport = { fresh: false, generation: 0, format: FORMAT_VERSION, records: 0, tornTail: false, corruption: [] };
  const values = new Map<string, Uint8Array>();

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
    const explained = areas.every((bytes) => isErased(bytes.subarray(dataStart), eraseValue));
    report.fresh = explained;
    if (!explained) report.corruption.push({ kind: 'noValidArea', area: 0, offset: 0, detail: 'no area has a valid header but the medium holds data' });
    return { values, liveArea: undefined, generation: 0, appendOffset: dataStart, sequence: 0, needsCompaction: true, report };
  }

  const bytes = areas[liveArea] as Uint8Array;
  const header = headers[liveArea] as { generation: number; version: number };
  report.generation = header.generation;
  report.format = header.version === FORMAT_V1 ? 1 : FORMAT_VERSION;
  const legacy = header.version === FORMAT_V1;
  const decode = legacy ? decodeRecordV1 : decodeRecord;
  let offset = dataStart;
  let sequence = 0;
  while (offset < areaLength) {
    const record = decode(bytes, offset, geometry.writeAlign);
    if (record && record.sequence > sequence) {
      applyOps(values, record.ops);
      sequence = record.sequence;
      offset += record.length;
      report.records++;
      continue;
    }
    if (isErased(bytes.subarray(offset), eraseValue)) break;
    // Format 1 cannot tell a record from bytes inside a value: never search past a bad record there.
    const resume = legacy ? undefined : findNextRecord(bytes, offset, geometry.writeAlign, sequence);
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
function findNextRecord(bytes: Uint8Array, from: number, writeAlign: number, previousSequence: number): number | undefined {
  for (let offset = from + writeAlign; offset < bytes.length; offset += writeAlign) {
    if (bytes[offset] !== RECORD_START) continue;
    const record: DecodedRecord | undefined = decodeRecord(bytes, offset, writeAlign);
    if (record && record.sequence > previousSequence) return offset;
  }
  return undefined;
}

export function applyOps(values: Map<string, Uint8Array>, ops: readonly StoreOp[]): void {
  for (const op of ops) {
    if (op.kind === 'put') values.set(op.key, op.value.slice());
    else values.delete(op.key);
  }
}
