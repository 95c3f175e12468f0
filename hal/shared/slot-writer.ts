/**
 * Writes an image into a slot partition with strict NOR rules (aligned programming, no
 * overwrite), while callers write arbitrary chunk sizes at arbitrary offsets (network chunks do
 * not care about `writeAlign`).
 *
 * Whole alignment units go straight to flash. A unit that is only partly covered waits in a RAM
 * buffer until it is complete; `sync()` programs such units padded with what the flash already
 * holds there (erased cells stay erased), so the bytes are durable and the rest of the unit can
 * still be programmed later: NOR lets erased bits be cleared in a later pass, and re-programming
 * an identical byte changes nothing. This is also why a resume may re-write bytes that already
 * landed before a power cut.
 */
import { toHex } from '../../agent/util/bytes.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { ClosedError, InvalidOptionsError, UpdateError } from '../errors.ts';
import type { FlashPartition, SlotName, SlotWriter } from '../types.ts';

/** How the writer reports progress to the boot-control record it belongs to. */
export interface SlotWriterHooks {
  /** Persists a new durable length (called by `sync`, after the bytes are programmed). */
  persistDurable(length: number): Promise<void>;
  /** Marks the verified image pending (called by `complete` after the digest matched). */
  markComplete(sha256: string): Promise<void>;
  /** The writer closed (the update facet forgets it). */
  closed(): void;
}

export interface SlotWriterOptions {
  slot: SlotName;
  partition: FlashPartition;
  /** Image length the caller announced. */
  size: number;
  /** Bytes already durable from an earlier session (resume), 0 for a fresh slot. */
  durableLength: number;
  hooks: SlotWriterHooks;
  /** Read-back chunk for verification. */
  verifyChunk?: number;
}

interface PartialUnit {
  data: Uint8Array;
  /** 1 where `data` holds a byte the caller wrote. */
  filled: Uint8Array;
}

export class AlignedSlotWriter implements SlotWriter {
  readonly slot: SlotName;
  #durableLength: number;
  readonly #partition: FlashPartition;
  readonly #size: number;
  readonly #align: number;
  readonly #hooks: SlotWriterHooks;
  readonly #verifyChunk: number;
  /** Partly covered alignment units by index; kept after a sync so later bytes can join them. */
  readonly #partial = new Map<number, PartialUnit>();
  /** Merged [start, end) ranges the caller wrote (programmed or buffered). */
  #written: [number, number][] = [];
  #closed = false;

  constructor(options: SlotWriterOptions) {
    this.slot = options.slot;
    this.#partition = options.partition;
    this.#size = options.size;
    this.#align = options.partition.status().writeAlign;
    this.#hooks = options.hooks;
    this.#durableLength = options.durableLength;
    this.#verifyChunk = options.verifyChunk ?? 64 * 1024;
    if (options.durableLength > 0) this.#written = [[0, options.durableLength]];
  }

  /** Re-creates the buffer of a unit that a previous session programmed padded (resume). */
  async restorePartialTail(): Promise<void> {
    const unitOffset = this.#durableLength % this.#align;
    if (unitOffset === 0) return;
    const unit = Math.floor(this.#durableLength / this.#align);
    const length = Math.min(this.#align, this.#size - unit * this.#align);
    const data = new Uint8Array(this.#align);
    data.set(await this.#partition.read(unit * this.#align, length));
    const filled = new Uint8Array(this.#align);
    filled.fill(1, 0, unitOffset);
    this.#partial.set(unit, { data, filled });
  }

  get durableLength(): number {
    return this.#durableLength;
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.#check('write');
    if (!(bytes instanceof Uint8Array)) throw new InvalidOptionsError('write: bytes must be a Uint8Array');
    if (!Number.isInteger(offset) || offset < 0) throw new InvalidOptionsError('write: offset must be a non-negative integer');
    if (offset + bytes.length > this.#size)
      throw new UpdateError('tooLarge', `write ${offset}+${bytes.length} beyond the announced image size ${this.#size}`);
    if (bytes.length === 0) return;
    const end = offset + bytes.length;
    const align = this.#align;
    const firstFull = Math.ceil(offset / align) * align;
    const fullEnd = Math.floor(end / align) * align;
    if (firstFull >= fullEnd) {
      // No whole unit inside: one or two partial units.
      await this.#mergePartial(offset, bytes);
    } else {
      if (offset < firstFull) await this.#mergePartial(offset, bytes.subarray(0, firstFull - offset));
      for (let unit = firstFull / align; unit < fullEnd / align; unit++) this.#partial.delete(unit);
      await this.#partition.write(firstFull, bytes.subarray(firstFull - offset, fullEnd - offset));
      if (fullEnd < end) await this.#mergePartial(fullEnd, bytes.subarray(fullEnd - offset));
    }
    this.#addWritten(offset, end);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.#check('read');
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.#size)
      throw new InvalidOptionsError(`read ${offset}+${length} outside the image of ${this.#size} bytes`);
    const out = await this.#partition.read(offset, length);
    // Buffered bytes are part of what the caller wrote: show them.
    for (const [unit, partial] of this.#partial) {
      const start = unit * this.#align;
      for (let i = 0; i < this.#align; i++) {
        const position = start + i - offset;
        if (partial.filled[i] && position >= 0 && position < length) out[position] = partial.data[i] as number;
      }
    }
    return out;
  }

  async sync(): Promise<void> {
    this.#check('sync');
    await this.#flushPartials();
    const durable = this.#contiguousPrefix();
    if (durable !== this.#durableLength) {
      await this.#hooks.persistDurable(durable);
      this.#durableLength = durable;
    }
  }

  async complete(options: { sha256: string }): Promise<void> {
    this.#check('complete');
    const expected = options?.sha256;
    if (typeof expected !== 'string' || !/^[0-9a-f]{64}$/.test(expected))
      throw new InvalidOptionsError('complete: sha256 must be 64 lower-case hex characters');
    const covered = this.#contiguousPrefix();
    if (covered < this.#size) throw new UpdateError('state', `image incomplete: ${covered} of ${this.#size} bytes written`);
    await this.#flushPartials();
    const hash = sha256.create();
    for (let offset = 0; offset < this.#size; offset += this.#verifyChunk)
      hash.update(await this.#partition.read(offset, Math.min(this.#verifyChunk, this.#size - offset)));
    const actual = toHex(hash.digest());
    if (expected !== actual) throw new UpdateError('digest', `slot ${this.slot} holds sha256 ${actual}, expected ${expected}`);
    await this.#hooks.markComplete(actual);
    this.#durableLength = this.#size;
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#partial.clear();
    this.#hooks.closed();
  }

  async #mergePartial(offset: number, bytes: Uint8Array): Promise<void> {
    const align = this.#align;
    let position = 0;
    while (position < bytes.length) {
      const absolute = offset + position;
      const unit = Math.floor(absolute / align);
      const inUnit = absolute - unit * align;
      const take = Math.min(align - inUnit, bytes.length - position);
      let partial = this.#partial.get(unit);
      if (!partial) {
        partial = { data: new Uint8Array(align), filled: new Uint8Array(align) };
        this.#partial.set(unit, partial);
      }
      partial.data.set(bytes.subarray(position, position + take), inUnit);
      partial.filled.fill(1, inUnit, inUnit + take);
      // The image's last unit is complete once filled up to the image end.
      const needed = Math.min(align, this.#size - unit * align);
      if (partial.filled.subarray(0, needed).every((f) => f === 1)) {
        await this.#programUnit(unit, partial);
        this.#partial.delete(unit);
      }
      position += take;
    }
  }

  async #flushPartials(): Promise<void> {
    for (const [unit, partial] of [...this.#partial].sort((x, y) => x[0] - y[0])) await this.#programUnit(unit, partial);
  }

  /** Programs one unit: the caller's bytes over what the flash holds (erased or same data). */
  async #programUnit(unit: number, partial: PartialUnit): Promise<void> {
    const start = unit * this.#align;
    const image = await this.#partition.read(start, this.#align);
    for (let i = 0; i < this.#align; i++) if (partial.filled[i]) image[i] = partial.data[i] as number;
    await this.#partition.write(start, image);
  }

  #addWritten(start: number, end: number): void {
    const ranges = [...this.#written, [start, end] as [number, number]].sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const range of ranges) {
      const last = merged[merged.length - 1];
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
    }
    this.#written = merged;
  }

  #contiguousPrefix(): number {
    const first = this.#written[0];
    return first && first[0] === 0 ? first[1] : 0;
  }

  #check(call: string): void {
    if (this.#closed) throw new ClosedError(`slot writer ${this.slot} (${call})`);
  }
}
