/**
 * A NOR partition for store tests whose interrupted write lands any bit pattern the physics allows:
 * programming only clears bits, so a torn byte is anything between erased (0xFF) and the intended
 * byte — `current & (intended | mask)` for some mask — not only a clean prefix as hal/mock does.
 * Writes are checked like hal/mock/flash.ts (alignment, range, no 0→1), so the store meets a strict medium.
 */
import { FlashError, PowerCutError } from '../../hal/errors.ts';
import type { FlashPartition, FlashStatus } from '../../hal/types.ts';

/** Given the intended bytes of the interrupted write, the mask of bits that stay erased (1 = not programmed). */
export type Tear = (intended: Uint8Array, offset: number) => Uint8Array;

export class TearableNor implements FlashPartition {
  readonly name = 'state';
  readonly cells: Uint8Array;
  readonly blockLength: number;
  readonly writeAlign: number;
  /** Mutating operations so far. */
  operations = 0;
  #cutAt: number | undefined;
  #tear: Tear = () => new Uint8Array(0);
  #dead = false;

  constructor(blockLength: number, blocks: number, writeAlign: number, cells?: Uint8Array) {
    this.blockLength = blockLength;
    this.writeAlign = writeAlign;
    this.cells = cells ?? new Uint8Array(blockLength * blocks).fill(0xff);
  }

  /** The n-th mutating operation from now is interrupted; a write lands as `tear` says, an erase half. */
  cutAfter(n: number, tear: Tear): void {
    this.#cutAt = this.operations + n;
    this.#tear = tear;
  }

  /** Power back on: the same cells, readable and writable again. */
  reboot(): void {
    this.#dead = false;
    this.#cutAt = undefined;
  }

  status(): FlashStatus {
    return { size: this.cells.length, blockLength: this.blockLength, blocks: this.cells.length / this.blockLength, eraseValue: 0xff, writeAlign: this.writeAlign };
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.#alive('read');
    this.#range(offset, length);
    return this.cells.slice(offset, offset + length);
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.#alive('write');
    this.#range(offset, bytes.length);
    if (offset % this.writeAlign !== 0 || bytes.length % this.writeAlign !== 0) throw new FlashError('misaligned', `write at ${offset}+${bytes.length}`);
    for (let i = 0; i < bytes.length; i++) {
      const current = this.cells[offset + i] as number;
      if ((current & (bytes[i] as number)) !== bytes[i]) throw new FlashError('notErased', `write at ${offset + i} would set programmed bits`);
    }
    if (this.#tick()) {
      const mask = this.#tear(bytes, offset);
      for (let i = 0; i < bytes.length; i++) this.cells[offset + i] = (this.cells[offset + i] as number) & ((bytes[i] as number) | ((mask[i] as number | undefined) ?? 0xff));
      throw new PowerCutError('flash.write');
    }
    for (let i = 0; i < bytes.length; i++) this.cells[offset + i] = (this.cells[offset + i] as number) & (bytes[i] as number);
  }

  async eraseBlock(index: number): Promise<void> {
    this.#alive('eraseBlock');
    if (!Number.isInteger(index) || index < 0 || index >= this.cells.length / this.blockLength) throw new FlashError('outOfRange', `block ${index}`);
    const start = index * this.blockLength;
    if (this.#tick()) {
      this.cells.fill(0xff, start, start + this.blockLength / 2);
      throw new PowerCutError('flash.eraseBlock');
    }
    this.cells.fill(0xff, start, start + this.blockLength);
  }

  close(): void {}

  #tick(): boolean {
    this.operations++;
    if (this.#cutAt === undefined || this.operations < this.#cutAt) return false;
    this.#cutAt = undefined;
    this.#dead = true;
    return true;
  }

  #alive(operation: string): void {
    if (this.#dead) throw new PowerCutError(operation);
  }

  #range(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.cells.length)
      throw new FlashError('outOfRange', `range ${offset}+${length} outside ${this.cells.length} bytes`);
  }
}

/** Tear models. `random` gives values in [0, 1). */
export const tears = {
  /** The first `units` alignment units land, nothing after (hal/mock's model). */
  prefix: (units: number, align: number): Tear => (intended) => intended.map((_, i) => (i < units * align ? 0x00 : 0xff)),
  /** Every bit of the write independently landed or not. */
  bits: (random: () => number): Tear => (intended) => intended.map(() => Math.floor(random() * 256)),
  /** A landed prefix, then random bits, then nothing: the write was cut while programming a burst. */
  ragged: (random: () => number): Tear => (intended) => {
    const full = Math.floor(random() * (intended.length + 1));
    const partial = full + Math.floor(random() * (intended.length - full + 1));
    return intended.map((_, i) => (i < full ? 0x00 : i < partial ? Math.floor(random() * 256) : 0xff));
  },
};
