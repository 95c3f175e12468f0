/**
 * Journaled key-value store on one flash partition: the only way the agent persists anything.
 *
 * Crash safety comes from three rules (format in ./format.ts, recovery in ./recovery.ts):
 *  1. a record is one CRC-protected batch, so a torn write applies nothing, and its framing keeps
 *     recovery from ever parsing a record out of a torn record's payload;
 *  2. nothing is ever appended after a torn or damaged record: the next write compacts first;
 *  3. compaction programs the new area's header after all its records, so until that last write
 *     the old area stays the live one.
 * A power cut at any write or erase therefore leaves every key at its last committed value or,
 * for the batch in flight, the new one. Damage that a power cut cannot explain (a bad record
 * followed by good ones, headers that are neither valid nor erased) is reported in
 * `report.corruption`, never thrown: the store opens with everything it could still read.
 *
 * Room: compaction writes one record per key, so a write is admitted only when the live set after
 * it, framed that way (its *compacted size*, with the worst-case record length), fits one area.
 * The log may hold a batch as one denser record, but every compaction is then known to fit, so
 * the store never fills up in a way a reboot or a delete cannot undo. A batch of deletes only is
 * always admitted: it never grows the compacted size (and it is folded into the compaction when
 * the area is full). A live set already over the limit (an old agent's store, a damaged medium)
 * is compacted into a single packed record, so deletes work there too.
 */
import type { FlashPartition } from '../../hal/types.ts';
import { PowerCutError } from '../../hal/errors.ts';
import { utf8Encode } from '../util/bytes.ts';
import { AREA_HEADER_LENGTH, MAX_KEY_BYTES, type StoreOp, encodeAreaHeader, encodePayload, encodeRecord, putLength, recordBound, roundUp } from './format.ts';
import { type HeldValue, release } from './held-value.ts';
import { StoreClosedError, StoreError, StoreFullError, StoreIoError, StoreUsageError } from './errors.ts';
import { type ScanResult, type StoreCorruption, type StoreOpenReport, applyOps, scanAreas } from './recovery.ts';

export type { StoreCorruption, StoreOpenReport };

export interface StoreStats {
  keys: number;
  generation: number;
  areaLength: number;
  usedBytes: number;
  freeBytes: number;
  /** Bytes the live values take at most after compaction (header included): never above areaLength for a writable store. */
  liveBytes: number;
  compactions: number;
}

/** Where the areas and records of a partition lie (the store keeps these as its own fields). */
interface Geometry {
  /** The partition's write alignment (of its status: only this is kept, not the status object). */
  writeAlign: number;
  areaLength: number;
  areaBlocks: number;
  dataStart: number;
  /** Bytes of an area available to records. */
  capacity: number;
}

export class KeyValueStore {
  // Declared and set in the constructor, not #private names nor field initializers: each #name is
  // one more atom (and the private methods a brand) in a QuickJS heap, and the initializers one
  // more function. TypeScript's `private` keeps them out of the API all the same.
  declare readonly report: StoreOpenReport;
  private declare readonly flash: FlashPartition;
  // The geometry (`Geometry`) as fields of the store itself: no object of its own for the agent's life.
  private declare readonly writeAlign: number;
  private declare readonly areaLength: number;
  private declare readonly areaBlocks: number;
  private declare readonly dataStart: number;
  private declare readonly capacity: number;
  /** Live values, small ones as strings (./held-value.ts says why). */
  private declare values: Map<string, HeldValue>;
  /** Sum over live keys of the most bytes each key's record takes after compaction (`bound`). */
  private declare liveSize: number;
  private declare liveArea: number | undefined;
  private declare generation: number;
  private declare appendOffset: number;
  private declare sequence: number;
  private declare needsCompaction: boolean;
  private declare compactions: number;
  /** Applied writes: what `revision` answers. */
  private declare applied: number;
  private declare queue: Promise<unknown>;
  private declare closed: boolean;

  private constructor(flash: FlashPartition, geometry: Geometry, scan: ScanResult) {
    this.flash = flash;
    this.writeAlign = geometry.writeAlign;
    this.areaLength = geometry.areaLength;
    this.areaBlocks = geometry.areaBlocks;
    this.dataStart = geometry.dataStart;
    this.capacity = geometry.capacity;
    this.values = scan.values;
    this.liveSize = 0;
    for (const [key, value] of this.values) this.liveSize += this.bound(key, value.length);
    this.liveArea = scan.liveArea;
    this.generation = scan.generation;
    this.appendOffset = scan.appendOffset;
    this.sequence = scan.sequence;
    this.needsCompaction = scan.needsCompaction;
    this.compactions = 0;
    this.applied = 0;
    this.queue = Promise.resolve();
    this.closed = false;
    this.report = scan.report;
  }

  /** Opens (read only until the first write) the store on a partition of at least two blocks. */
  static async open(flash: FlashPartition): Promise<KeyValueStore> {
    const name = flash?.name;
    const status = await io(name, 'status', async () => flash.status());
    if (status.blocks < 2) throw new StoreUsageError(`partition ${name} needs at least 2 erase blocks, has ${status.blocks}`);
    if (status.eraseValue !== 0xff) throw new StoreUsageError(`partition ${name}: only flash erasing to 0xFF is supported`);
    const areaBlocks = Math.floor(status.blocks / 2);
    const areaLength = areaBlocks * status.blockLength;
    const dataStart = roundUp(AREA_HEADER_LENGTH, status.writeAlign);
    if (dataStart >= areaLength) throw new StoreUsageError(`partition ${name}: an area of ${areaLength} bytes cannot hold its header`);
    const geometry: Geometry = { writeAlign: status.writeAlign, areaLength, areaBlocks, dataStart, capacity: areaLength - dataStart };
    // Scanned a chunk at a time (./recovery.ts): the areas never sit in memory whole.
    const read = (offset: number, length: number) => io(name, 'read', () => flash.read(offset, length));
    const scan = await scanAreas(read, { areaLength, dataStart, writeAlign: status.writeAlign, eraseValue: status.eraseValue });
    return new KeyValueStore(flash, geometry, scan);
  }

  get(key: string): Uint8Array | undefined {
    this.checkOpen();
    const value = this.values.get(key);
    return value === undefined ? undefined : release(value);
  }

  /**
   * Changes with every applied write (append or compaction that carried one): a reader that keeps a
   * decoded value may reuse it while the revision stays the same, instead of decoding per call.
   */
  get revision(): number {
    this.checkOpen();
    return this.applied;
  }

  has(key: string): boolean {
    this.checkOpen();
    return this.values.has(key);
  }

  /** Keys in insertion-independent (sorted) order, optionally only those starting with `prefix`. */
  keys(prefix = ''): string[] {
    this.checkOpen();
    return [...this.values.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.batch([{ kind: 'put', key, value }]);
  }

  delete(key: string): Promise<void> {
    return this.batch([{ kind: 'delete', key }]);
  }

  /** Applies all ops atomically: after a power cut either all of them or none are visible. */
  async batch(ops: readonly StoreOp[]): Promise<void> {
    this.checkOpen();
    if (!Array.isArray(ops)) throw new StoreUsageError('batch expects an array of ops');
    for (const op of ops) validateOp(op);
    const copy = ops.map((op): StoreOp => (op.kind === 'put' ? { kind: 'put', key: op.key, value: op.value.slice() } : { kind: 'delete', key: op.key }));
    return this.serialize(() => this.append(copy));
  }

  /** Rewrites the live set into the other area. Runs by itself when an area fills up. */
  async compact(): Promise<void> {
    this.checkOpen();
    return this.serialize(() => this.rewrite(this.values, this.liveSize));
  }

  stats(): StoreStats {
    const { areaLength, dataStart } = this;
    const used = this.liveArea === undefined ? 0 : this.appendOffset;
    return {
      keys: this.values.size,
      generation: this.generation,
      areaLength,
      usedBytes: used,
      freeBytes: areaLength - Math.max(used, dataStart),
      liveBytes: dataStart + this.liveSize,
      compactions: this.compactions,
    };
  }

  /** Idempotent; waits for writes in flight. The partition stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The most bytes the record of `key` with a value of `length` bytes takes after compaction.
   * Computed when needed rather than kept per key: a Map of numbers per key was only a cache.
   */
  private bound(key: string, length: number): number {
    return recordBound(putLength(key, length), this.writeAlign);
  }

  private async append(ops: readonly StoreOp[]): Promise<void> {
    const deletesOnly = ops.every((op) => op.kind === 'delete');
    // Nothing to change (also keeps a full, over-limit store from needing room for a no-op).
    if (deletesOnly && !ops.some((op) => this.values.has(op.key))) return;
    const { areaLength, capacity, writeAlign } = this;
    const changed = new Map<string, number>();
    for (const op of ops) changed.set(op.key, op.kind === 'put' ? this.bound(op.key, op.value.length) : 0);
    let sizeAfter = this.liveSize;
    for (const [key, bound] of changed) {
      const old = this.values.get(key);
      sizeAfter += bound - (old === undefined ? 0 : this.bound(key, old.length));
    }
    if (!deletesOnly && sizeAfter > capacity)
      throw new StoreFullError(`store ${this.flash.name} is full: after this write the live set would need ${sizeAfter} of ${capacity} bytes once compacted`);

    // A blank medium is formatted first (an empty area), so a torn first write still leaves a header.
    if (this.liveArea === undefined) await this.rewrite(new Map(), 0);
    const record = encodeRecord(this.sequence + 1, encodePayload(ops), writeAlign);
    if (this.liveArea !== undefined && !this.needsCompaction && this.appendOffset + record.length <= areaLength) {
      const area = this.liveArea;
      await this.program('write', () => this.flash.write(area * areaLength + this.appendOffset, record));
      this.appendOffset += record.length;
      this.sequence++;
      applyOps(this.values, ops);
      this.applied++;
      this.liveSize = sizeAfter;
      return;
    }
    // No room behind the log (or it must be rewritten): the batch goes into the compaction itself,
    // which is as atomic as an append (the new area only counts once its header is written).
    const values = new Map(this.values);
    applyOps(values, ops);
    await this.rewrite(values, sizeAfter);
  }

  /**
   * Writes `values` into the other area and switches to it; nothing is erased unless it fits.
   * `size` is their compacted size (`bound` summed over them), which the caller already knows.
   */
  private async rewrite(values: Map<string, HeldValue>, size: number): Promise<void> {
    const { areaLength, areaBlocks, dataStart, capacity, writeAlign } = this;
    const keys = [...values.keys()].sort();
    let sequence = this.sequence;
    // One record per key: the same framing admission counts, so a store that admitted a write can
    // always compact. Only a live set that is already over the limit is packed into one record.
    let packed: Uint8Array | undefined;
    if (size > capacity) {
      packed = encodeRecord(sequence + 1, encodePayload(keys.map((key) => ({ kind: 'put', key, value: release(values.get(key) as HeldValue) }))), writeAlign);
      if (packed.length > capacity)
        throw new StoreFullError(`store ${this.flash.name} holds more than an area can take (${packed.length} of ${capacity} bytes): delete keys in one batch`);
    }
    const target = this.liveArea === undefined ? 0 : 1 - this.liveArea;
    const base = target * areaLength;
    try {
      // Block 0 first: it holds the header, so an interrupted erase can only invalidate the target.
      for (let block = 0; block < areaBlocks; block++) await this.program('erase', () => this.flash.eraseBlock(target * areaBlocks + block));
      let offset = dataStart;
      const records = packed ? [packed] : keys;
      for (const item of records) {
        const record =
          typeof item === 'string' ? encodeRecord(sequence + 1, encodePayload([{ kind: 'put', key: item, value: release(values.get(item) as HeldValue) }]), writeAlign) : item;
        if (offset + record.length > areaLength) throw new StoreFullError(`compaction of ${this.flash.name} overran its area (bound ${size} of ${capacity})`);
        await this.program('write', () => this.flash.write(base + offset, record));
        offset += record.length;
        sequence++;
      }
      const header = new Uint8Array(dataStart).fill(0xff);
      header.set(encodeAreaHeader(this.generation + 1, areaLength));
      await this.program('write', () => this.flash.write(base, header));
      this.liveArea = target;
      this.generation = (this.generation + 1) >>> 0;
      this.appendOffset = offset;
      this.sequence = sequence;
      this.values = values;
      this.applied++;
      this.liveSize = size;
      this.needsCompaction = false;
      this.compactions++;
    } catch (error) {
      this.needsCompaction = true;
      throw error;
    }
  }

  /** A flash mutation; if it fails, part of it may have landed: never append after it. */
  private async program(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await io(this.flash.name, what, work);
    } catch (error) {
      this.needsCompaction = true;
      throw error;
    }
  }
}

/** Runs a flash call; its errors become StoreIoError (a PowerCutError, the mock's "process died", passes). */
async function io<T>(name: string | undefined, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreError || error instanceof PowerCutError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new StoreIoError(`flash ${what} on partition ${name} failed: ${detail}`, error);
  }
}

function validateOp(op: StoreOp): void {
  if (!op || (op.kind !== 'put' && op.kind !== 'delete')) throw new StoreUsageError('op.kind must be put or delete');
  if (typeof op.key !== 'string' || op.key.length === 0) throw new StoreUsageError('keys are non-empty strings');
  if (utf8Encode(op.key).length > MAX_KEY_BYTES) throw new StoreUsageError(`key longer than ${MAX_KEY_BYTES} bytes`);
  if (op.kind === 'put' && !(op.value instanceof Uint8Array)) throw new StoreUsageError(`value for ${op.key} must be a Uint8Array`);
}
