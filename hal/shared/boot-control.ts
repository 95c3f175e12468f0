/**
 * The boot-control block: which A/B slot boots, what each slot holds, the trial-boot counter.
 * Shared by the bootloader step and the running system, so it must survive a power cut at any
 * write or erase. Like U-Boot's redundant environment it keeps two copies, each in its own
 * erase blocks, each with a sequence number and a CRC32: a save rewrites the *older* copy with
 * sequence + 1, so a torn erase or write only ever damages the copy that was not current, and a
 * load takes the valid copy with the highest sequence number.
 *
 *   copy:    "DMBC" | u32 sequence | u32 payloadLength | u32 crc32(sequence..payload) | payload
 *   payload: JSON of BootControlRecord (UTF-8)
 *
 * All integers little endian; a copy is padded with the erase value to `writeAlign`.
 */
import { utf8Decode, utf8Encode } from '../../agent/util/bytes.ts';
import { crc32 } from '../../agent/util/crc32.ts';
import { isErased } from '../../agent/store/format.ts';
import { UpdateError } from '../errors.ts';
import type { FlashPartition, SlotName } from '../types.ts';

const MAGIC = [0x44, 0x4d, 0x42, 0x43]; // "DMBC"
const HEADER_LENGTH = 16;

export interface SlotRecord {
  /** empty: nothing usable; writing: an image is being written; complete: verified image. */
  state: 'empty' | 'writing' | 'complete';
  version?: string;
  size?: number;
  sha256?: string;
  /** Bytes a resume may trust (synced), while `writing`. */
  durableLength?: number;
}

export interface BootControlRecord {
  active: SlotName;
  /** A verified image waiting for the next boot. */
  pending?: SlotName;
  /** False during a trial boot. */
  confirmed: boolean;
  bootCount: number;
  /** The running trial asked to go back to the other slot on the next boot. */
  rollbackRequested: boolean;
  slots: Record<SlotName, SlotRecord>;
}

export function defaultRecord(): BootControlRecord {
  return { active: 'a', confirmed: true, bootCount: 0, rollbackRequested: false, slots: { a: { state: 'empty' }, b: { state: 'empty' } } };
}

export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

/** What `load` found, for logs and tests: a torn copy after a power cut is normal. */
export interface BootControlLoad {
  record: BootControlRecord;
  /** Both copies blank: a factory-fresh device. */
  fresh: boolean;
  /** Copies that were neither blank nor valid (torn writes, bit rot). */
  damagedCopies: number[];
}

export class BootControlStore {
  readonly #partition: FlashPartition;
  readonly #copyLength: number;
  readonly #blocksPerCopy: number;
  readonly #writeAlign: number;
  readonly #eraseValue: number;
  #sequence = 0;
  /** Index of the copy holding the current record, or -1 when none does. */
  #currentCopy = -1;

  constructor(partition: FlashPartition) {
    const status = partition.status();
    this.#blocksPerCopy = Math.floor(status.blocks / 2);
    if (this.#blocksPerCopy < 1) throw new UpdateError('state', `boot-control partition ${partition.name} needs at least 2 erase blocks`);
    this.#partition = partition;
    this.#copyLength = this.#blocksPerCopy * status.blockLength;
    this.#writeAlign = status.writeAlign;
    this.#eraseValue = status.eraseValue;
  }

  async load(): Promise<BootControlLoad> {
    let best: { record: BootControlRecord; sequence: number; copy: number } | undefined;
    let blank = 0;
    const damagedCopies: number[] = [];
    for (let copy = 0; copy < 2; copy++) {
      const bytes = await this.#partition.read(copy * this.#copyLength, this.#copyLength);
      const decoded = decodeCopy(bytes);
      if (decoded === 'invalid') {
        // A word at a time: every boot of a fresh device checks both copies byte by byte otherwise.
        if (isErased(bytes, this.#eraseValue)) blank++;
        else damagedCopies.push(copy);
      } else if (!best || decoded.sequence > best.sequence) best = { ...decoded, copy };
    }
    if (!best) {
      this.#sequence = 0;
      this.#currentCopy = -1;
      return { record: defaultRecord(), fresh: blank === 2, damagedCopies };
    }
    this.#sequence = best.sequence;
    this.#currentCopy = best.copy;
    return { record: best.record, fresh: false, damagedCopies };
  }

  /** Makes `record` current: erase the non-current copy, then program it in one write. */
  async save(record: BootControlRecord): Promise<void> {
    const sequence = this.#sequence + 1;
    const encoded = this.#encode(record, sequence);
    const copy = this.#currentCopy === 0 ? 1 : 0;
    for (let block = 0; block < this.#blocksPerCopy; block++) await this.#partition.eraseBlock(copy * this.#blocksPerCopy + block);
    await this.#partition.write(copy * this.#copyLength, encoded);
    this.#sequence = sequence;
    this.#currentCopy = copy;
  }

  #encode(record: BootControlRecord, sequence: number): Uint8Array {
    const payload = utf8Encode(JSON.stringify(record));
    const length = Math.ceil((HEADER_LENGTH + payload.length) / this.#writeAlign) * this.#writeAlign;
    if (length > this.#copyLength)
      throw new UpdateError('state', `boot-control record of ${length} bytes does not fit a copy of ${this.#copyLength} bytes`);
    const out = new Uint8Array(length).fill(this.#eraseValue);
    out.set(MAGIC, 0);
    const view = new DataView(out.buffer);
    view.setUint32(4, sequence >>> 0, true);
    view.setUint32(8, payload.length, true);
    out.set(payload, HEADER_LENGTH);
    view.setUint32(12, crc32(payload, crc32(out.subarray(4, 12))), true);
    return out;
  }
}

function decodeCopy(bytes: Uint8Array): 'invalid' | { record: BootControlRecord; sequence: number } {
  if (bytes.length < HEADER_LENGTH || MAGIC.some((b, i) => bytes[i] !== b)) return 'invalid';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sequence = view.getUint32(4, true);
  const length = view.getUint32(8, true);
  if (HEADER_LENGTH + length > bytes.length) return 'invalid';
  const payload = bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + length);
  if (crc32(payload, crc32(bytes.subarray(4, 12))) !== view.getUint32(12, true)) return 'invalid';
  try {
    const record = parseRecord(JSON.parse(utf8Decode(payload)));
    return record ? { record, sequence } : 'invalid';
  } catch {
    return 'invalid';
  }
}

/** Structural check of a decoded record: a CRC match with a foreign layout must not crash boot. */
function parseRecord(value: unknown): BootControlRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Partial<BootControlRecord>;
  const isSlot = (s: unknown): s is SlotName => s === 'a' || s === 'b';
  if (!isSlot(r.active) || (r.pending !== undefined && !isSlot(r.pending))) return undefined;
  if (typeof r.confirmed !== 'boolean' || typeof r.rollbackRequested !== 'boolean') return undefined;
  if (typeof r.bootCount !== 'number' || !r.slots || typeof r.slots !== 'object') return undefined;
  for (const slot of ['a', 'b'] as const) {
    const s = r.slots[slot];
    if (!s || (s.state !== 'empty' && s.state !== 'writing' && s.state !== 'complete')) return undefined;
  }
  return r as BootControlRecord;
}
