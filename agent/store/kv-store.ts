/**
 * Journaled key-value store on one flash partition: the only way the agent persists anything.
 *
 * Crash safety comes from three rules (format in ./format.ts):
 *  1. a record is one CRC-protected batch, so a torn write applies nothing;
 *  2. nothing is ever appended after a torn or damaged record: the next write compacts first;
 *  3. compaction programs the new area's header after all its records, so until that last write
 *     the old area stays the live one.
 * A power cut at any write or erase therefore leaves every key at its last committed value or,
 * for the batch in flight, the new one. Damage that a power cut cannot explain (a bad record
 * followed by good ones, headers that are neither valid nor erased) is reported in
 * `report.corruption`, never thrown: the store opens with everything it could still read.
 */
import type { FlashPartition, FlashStatus } from '../../hal/types.ts';
import { utf8Encode } from '../util/bytes.ts';
import {
  AREA_HEADER_LENGTH,
  MAX_KEY_BYTES,
  RECORD_HEADER_LENGTH,
  type StoreOp,
  decodeAreaHeader,
  decodePayload,
  encodeAreaHeader,
  encodePayload,
  encodeRecord,
  isErased,
  parseRecordHeader,
  recordCrcMatches,
  roundUp,
} from './format.ts';
import { StoreClosedError, StoreFullError, StoreUsageError } from './errors.ts';

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
  /** Records replayed from the live area. */
  records: number;
  /** The log ended in a torn record (an interrupted write): normal after a power cut. */
  tornTail: boolean;
  /** Damage a power cut cannot explain. Empty on a healthy medium. */
  corruption: StoreCorruption[];
}

export interface StoreStats {
  keys: number;
  generation: number;
  areaLength: number;
  usedBytes: number;
  freeBytes: number;
  /** Bytes the live values would take after compaction. */
  liveBytes: number;
  compactions: number;
}

interface Geometry {
  status: FlashStatus;
  areaLength: number;
  areaBlocks: number;
  dataStart: number;
}

export class KeyValueStore {
  readonly report: StoreOpenReport;
  #flash: FlashPartition;
  #geometry: Geometry;
  #values: Map<string, Uint8Array>;
  #liveArea: number | undefined;
  #generation: number;
  #appendOffset: number;
  #sequence: number;
  #needsCompaction: boolean;
  #compactions = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(flash: FlashPartition, geometry: Geometry, scan: ScanResult) {
    this.#flash = flash;
    this.#geometry = geometry;
    this.#values = scan.values;
    this.#liveArea = scan.liveArea;
    this.#generation = scan.generation;
    this.#appendOffset = scan.appendOffset;
    this.#sequence = scan.sequence;
    this.#needsCompaction = scan.report.tornTail || scan.report.corruption.length > 0;
    this.report = scan.report;
  }

  /** Opens (read only until the first write) the store on a partition of at least two blocks. */
  static async open(flash: FlashPartition): Promise<KeyValueStore> {
    const status = flash.status();
    if (status.blocks < 2) throw new StoreUsageError(`partition ${flash.name} needs at least 2 erase blocks, has ${status.blocks}`);
    if (status.eraseValue !== 0xff) throw new StoreUsageError(`partition ${flash.name}: only flash erasing to 0xFF is supported`);
    const areaBlocks = Math.floor(status.blocks / 2);
    const areaLength = areaBlocks * status.blockLength;
    const geometry: Geometry = { status, areaLength, areaBlocks, dataStart: roundUp(AREA_HEADER_LENGTH, status.writeAlign) };
    return new KeyValueStore(flash, geometry, await scan(flash, geometry));
  }

  get(key: string): Uint8Array | undefined {
    this.#checkOpen();
    const value = this.#values.get(key);
    return value === undefined ? undefined : value.slice();
  }

  has(key: string): boolean {
    this.#checkOpen();
    return this.#values.has(key);
  }

  /** Keys in insertion-independent (sorted) order, optionally only those starting with `prefix`. */
  keys(prefix = ''): string[] {
    this.#checkOpen();
    return [...this.#values.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.batch([{ kind: 'put', key, value }]);
  }

  delete(key: string): Promise<void> {
    return this.batch([{ kind: 'delete', key }]);
  }

  /** Applies all ops atomically: after a power cut either all of them or none are visible. */
  async batch(ops: readonly StoreOp[]): Promise<void> {
    this.#checkOpen();
    for (const op of ops) validateOp(op);
    return this.#serialize(() => this.#append(ops));
  }

  /** Rewrites the live set into the other area. Runs by itself when an area fills up. */
  async compact(): Promise<void> {
    this.#checkOpen();
    return this.#serialize(() => this.#compact());
  }

  stats(): StoreStats {
    const { areaLength, dataStart } = this.#geometry;
    const used = this.#liveArea === undefined ? 0 : this.#appendOffset;
    return {
      keys: this.#values.size,
      generation: this.#generation,
      areaLength,
      usedBytes: used,
      freeBytes: areaLength - Math.max(used, dataStart),
      liveBytes: this.#liveSetLength(this.#values),
      compactions: this.#compactions,
    };
  }

  /** Idempotent; waits for writes in flight. The partition stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  #serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #recordLength(ops: readonly StoreOp[]): number {
    return encodeRecord(0, encodePayload(ops), this.#geometry.status.writeAlign).length;
  }

  async #append(ops: readonly StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const payload = encodePayload(ops);
    const length = encodeRecord(0, payload, this.#geometry.status.writeAlign).length;
    const { areaLength, dataStart } = this.#geometry;
    if (length > areaLength - dataStart) throw new StoreFullError(`a record of ${length} bytes can never fit an area of ${areaLength - dataStart}`);
    if (this.#liveArea === undefined || this.#needsCompaction || this.#appendOffset + length > areaLength) {
      // Size check on the state after the batch, so a batch that frees space still goes through.
      const after = new Map(this.#values);
      applyOps(after, ops);
      if (this.#liveSetLength(after) > areaLength) throw new StoreFullError(`store ${this.#flash.name} is full: the live set would exceed ${areaLength} bytes`);
      await this.#compact();
      if (this.#appendOffset + length > areaLength) {
        // The current live set plus this record does not fit, but the result does: fold the batch into a compaction.
        await this.#compact(after);
        this.#values = after;
        return;
      }
    }
    // Encoded only now: a compaction above renumbers the log, and sequences must keep rising.
    const record = encodeRecord(this.#sequence + 1, payload, this.#geometry.status.writeAlign);
    const area = this.#liveArea as number;
    try {
      await this.#flash.write(area * areaLength + this.#appendOffset, record);
    } catch (error) {
      // Part of the record may have landed: never append after it.
      this.#needsCompaction = true;
      throw error;
    }
    this.#appendOffset += record.length;
    this.#sequence++;
    applyOps(this.#values, ops);
  }

  #liveSetLength(values: Map<string, Uint8Array>): number {
    let length = this.#geometry.dataStart;
    for (const [key, value] of values) length += this.#recordLength([{ kind: 'put', key, value }]);
    return length;
  }

  /** Writes `values` (default: the current live set) into the other area and switches to it. */
  async #compact(values: Map<string, Uint8Array> = this.#values): Promise<void> {
    const { areaLength, areaBlocks, dataStart, status } = this.#geometry;
    const target = this.#liveArea === undefined ? 0 : 1 - this.#liveArea;
    const base = target * areaLength;
    try {
      // Block 0 first: it holds the header, so an interrupted erase can only invalidate the target.
      for (let block = 0; block < areaBlocks; block++) await this.#flash.eraseBlock(target * areaBlocks + block);
      let offset = dataStart;
      let sequence = this.#sequence;
      // One record per key: the same bytes a later append would write, so sizes stay predictable.
      for (const key of [...values.keys()].sort()) {
        const record = encodeRecord(++sequence, encodePayload([{ kind: 'put', key, value: values.get(key) as Uint8Array }]), status.writeAlign);
        await this.#flash.write(base + offset, record);
        offset += record.length;
      }
      const header = new Uint8Array(dataStart);
      header.set(encodeAreaHeader(this.#generation + 1, areaLength));
      await this.#flash.write(base, header);
      this.#liveArea = target;
      this.#generation++;
      this.#appendOffset = offset;
      this.#sequence = sequence;
      this.#needsCompaction = false;
      this.#compactions++;
    } catch (error) {
      this.#needsCompaction = true;
      throw error;
    }
  }
}

function validateOp(op: StoreOp): void {
  if (!op || (op.kind !== 'put' && op.kind !== 'delete')) throw new StoreUsageError('op.kind must be put or delete');
  if (typeof op.key !== 'string' || op.key.length === 0) throw new StoreUsageError('keys are non-empty strings');
  if (utf8Encode(op.key).length > MAX_KEY_BYTES) throw new StoreUsageError(`key longer than ${MAX_KEY_BYTES} bytes`);
  if (op.kind === 'put' && !(op.value instanceof Uint8Array)) throw new StoreUsageError(`value for ${op.key} must be a Uint8Array`);
}

function applyOps(values: Map<string, Uint8Array>, ops: readonly StoreOp[]): void {
  for (const op of ops) {
    if (op.kind === 'put') values.set(op.key, op.value.slice());
    else values.delete(op.key);
  }
}

// ───────────────────────────── opening: find the live area, replay its log ─────────────────────────────

interface ScanResult {
  values: Map<string, Uint8Array>;
  liveArea: number | undefined;
  generation: number;
  appendOffset: number;
  sequence: number;
  report: StoreOpenReport;
}

async function scan(flash: FlashPartition, geometry: Geometry): Promise<ScanResult> {
  const { areaLength, dataStart, status } = geometry;
  const areas = [await flash.read(0, areaLength), await flash.read(areaLength, areaLength)];
  const generations = areas.map((bytes) => decodeAreaHeader(bytes, areaLength));
  const report: StoreOpenReport = { fresh: false, generation: 0, records: 0, tornTail: false, corruption: [] };
  const values = new Map<string, Uint8Array>();

  let liveArea: number | undefined;
  for (let area = 0; area < 2; area++) {
    const generation = generations[area];
    if (generation === undefined) continue;
    if (liveArea === undefined || generation > (generations[liveArea] as number)) liveArea = area;
  }
  if (liveArea === undefined) {
    // Blank medium, or a torn header from the very first format: both are a fresh store.
    const explained = areas.every((bytes) => isErased(bytes.subarray(dataStart), status.eraseValue));
    report.fresh = explained;
    if (!explained) report.corruption.push({ kind: 'noValidArea', area: 0, offset: 0, detail: 'no area has a valid header but the medium holds data' });
    return { values, liveArea: undefined, generation: 0, appendOffset: dataStart, sequence: 0, report };
  }

  const bytes = areas[liveArea] as Uint8Array;
  report.generation = generations[liveArea] as number;
  let offset = dataStart;
  let sequence = 0;
  while (offset < areaLength) {
    const record = readRecordAt(bytes, offset, status.writeAlign, sequence);
    if (record) {
      applyOps(values, record.ops);
      sequence = record.sequence;
      offset += record.length;
      report.records++;
      continue;
    }
    if (isErased(bytes.subarray(offset, offset + RECORD_HEADER_LENGTH), status.eraseValue) && isErased(bytes.subarray(offset), status.eraseValue)) break;
    // Not a valid record and not blank. If a valid record follows, the medium was damaged
    // (a power cut only ever tears the last record): report it and resume after the damage.
    const resume = findNextRecord(bytes, offset + status.writeAlign, status.writeAlign, sequence);
    if (resume === undefined) {
      report.tornTail = true;
      break;
    }
    report.corruption.push({ kind: 'damagedRecord', area: liveArea, offset, detail: `${resume - offset} bytes unreadable before the next valid record` });
    offset = resume;
  }
  return { values, liveArea, generation: report.generation, appendOffset: report.tornTail ? areaLength : offset, sequence, report };
}

function readRecordAt(bytes: Uint8Array, offset: number, writeAlign: number, previousSequence: number): { ops: StoreOp[]; sequence: number; length: number } | undefined {
  const header = parseRecordHeader(bytes.subarray(offset, offset + RECORD_HEADER_LENGTH), writeAlign, bytes.length - offset);
  if (!header || header.sequence <= previousSequence) return undefined;
  const record = bytes.subarray(offset, offset + header.paddedLength);
  if (!recordCrcMatches(record, header.payloadLength)) return undefined;
  const ops = decodePayload(record.subarray(RECORD_HEADER_LENGTH, RECORD_HEADER_LENGTH + header.payloadLength));
  return ops ? { ops, sequence: header.sequence, length: header.paddedLength } : undefined;
}

function findNextRecord(bytes: Uint8Array, from: number, writeAlign: number, previousSequence: number): number | undefined {
  for (let offset = from; offset + RECORD_HEADER_LENGTH <= bytes.length; offset += writeAlign) {
    if (readRecordAt(bytes, offset, writeAlign, previousSequence)) return offset;
  }
  return undefined;
}
