import { ClosedError, FlashError, InvalidOptionsError } from '../errors.ts';
import type { Flash, FlashOpenOptions, FlashPartition, FlashStatus } from '../types.ts';
import type { PowerCut } from './power-cut.ts';

export interface MockFlashLayout {
  blockLength: number;
  writeAlign: number;
  eraseValue?: number;
  partitions: { name: string; size: number }[];
}

/**
 * NOR flash that behaves like the real thing, so the store's crash-safety is tested honestly:
 * programming can only clear bits (1→0, i.e. towards 0 from the erase value 0xFF), programming a
 * byte twice with different content fails, offsets and lengths must be `writeAlign` multiples,
 * erase works on whole blocks. An interrupted write lands a prefix; an interrupted erase leaves
 * the block half erased. The memory lives in `MockFlashMemory`, which survives reboots.
 */
export class MockFlashMemory {
  readonly layout: Required<MockFlashLayout>;
  readonly cells = new Map<string, Uint8Array>();
  /** Statistics for wear tests: erases per partition block. */
  readonly eraseCounts = new Map<string, Uint32Array>();

  constructor(layout: MockFlashLayout) {
    validateLayout(layout);
    this.layout = { eraseValue: 0xff, ...layout };
    for (const p of layout.partitions) {
      this.cells.set(p.name, new Uint8Array(p.size).fill(this.layout.eraseValue));
      this.eraseCounts.set(p.name, new Uint32Array(p.size / layout.blockLength));
    }
  }

  /** Test helper: flips bits behind the driver's back (bit rot, tampering). */
  corrupt(partition: string, offset: number, xorMask = 0x01): void {
    const cells = this.cells.get(partition);
    if (!cells || offset < 0 || offset >= cells.length) throw new RangeError(`no byte ${offset} in ${partition}`);
    cells[offset] = (cells[offset] as number) ^ xorMask;
  }
}

function validateLayout(layout: MockFlashLayout): void {
  const { blockLength, writeAlign } = layout;
  if (!Number.isInteger(blockLength) || blockLength <= 0) throw new InvalidOptionsError('blockLength must be a positive integer');
  if (!Number.isInteger(writeAlign) || writeAlign <= 0 || blockLength % writeAlign !== 0)
    throw new InvalidOptionsError('writeAlign must be a positive divisor of blockLength');
  const seen = new Set<string>();
  for (const p of layout.partitions) {
    if (seen.has(p.name)) throw new InvalidOptionsError(`duplicate partition ${p.name}`);
    seen.add(p.name);
    if (!Number.isInteger(p.size) || p.size <= 0 || p.size % blockLength !== 0)
      throw new InvalidOptionsError(`partition ${p.name}: size must be a positive multiple of ${blockLength}`);
  }
}

export function createMockFlash(memory: MockFlashMemory, power: PowerCut): Flash {
  return {
    partitions: () => [...memory.cells.keys()],
    async open(options: FlashOpenOptions): Promise<FlashPartition> {
      if (!options || typeof options.partition !== 'string') throw new InvalidOptionsError('open: partition name required');
      power.check('flash.open');
      const cells = memory.cells.get(options.partition);
      if (!cells) throw new FlashError('noPartition', `no partition named ${options.partition}`);
      return new MockFlashPartition(options.partition, cells, memory, power);
    },
  };
}

class MockFlashPartition implements FlashPartition {
  readonly name: string;
  #cells: Uint8Array;
  #memory: MockFlashMemory;
  #power: PowerCut;
  #closed = false;

  constructor(name: string, cells: Uint8Array, memory: MockFlashMemory, power: PowerCut) {
    this.name = name;
    this.#cells = cells;
    this.#memory = memory;
    this.#power = power;
  }

  status(): FlashStatus {
    this.#open('status');
    const { blockLength, writeAlign, eraseValue } = this.#memory.layout;
    return { size: this.#cells.length, blockLength, blocks: this.#cells.length / blockLength, eraseValue, writeAlign };
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.#open('read');
    this.#power.check('flash.read');
    this.#range(offset, length);
    return this.#cells.slice(offset, offset + length);
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.#open('write');
    this.#power.check('flash.write');
    if (!(bytes instanceof Uint8Array)) throw new InvalidOptionsError('write: bytes must be a Uint8Array');
    this.#range(offset, bytes.length);
    const align = this.#memory.layout.writeAlign;
    if (offset % align !== 0 || bytes.length % align !== 0)
      throw new FlashError('misaligned', `write at ${offset} of ${bytes.length} bytes is not aligned to ${align}`);
    // Check the whole range first: real drivers refuse before programming anything.
    for (let i = 0; i < bytes.length; i++) {
      const current = this.#cells[offset + i] as number;
      const next = bytes[i] as number;
      if ((current & next) !== next) throw new FlashError('notErased', `write at ${offset + i} would set programmed bits`);
    }
    const cut = this.#power.tick('flash.write');
    // An interrupted write programs a prefix (whole alignment units) and stops.
    const landed = cut ? Math.floor((bytes.length * this.#power.landFraction) / align) * align : bytes.length;
    for (let i = 0; i < landed; i++) this.#cells[offset + i] = (this.#cells[offset + i] as number) & (bytes[i] as number);
    if (cut) this.#power.fail('flash.write');
  }

  async eraseBlock(index: number): Promise<void> {
    this.#open('eraseBlock');
    this.#power.check('flash.eraseBlock');
    const { blockLength, eraseValue } = this.#memory.layout;
    const blocks = this.#cells.length / blockLength;
    if (!Number.isInteger(index) || index < 0 || index >= blocks)
      throw new FlashError('outOfRange', `block ${index} outside 0..${blocks - 1}`);
    const cut = this.#power.tick('flash.eraseBlock');
    const start = index * blockLength;
    // An interrupted erase leaves the block half erased: neither old content nor blank.
    const erased = cut ? Math.floor(blockLength * this.#power.landFraction) : blockLength;
    this.#cells.fill(eraseValue, start, start + erased);
    const counts = this.#memory.eraseCounts.get(this.name);
    if (counts) counts[index] = (counts[index] as number) + 1;
    if (cut) this.#power.fail('flash.eraseBlock');
  }

  close(): void {
    this.#closed = true;
  }

  #open(call: string): void {
    if (this.#closed) throw new ClosedError(`flash partition ${this.name} (${call})`);
  }

  #range(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.#cells.length)
      throw new FlashError('outOfRange', `range ${offset}+${length} outside partition ${this.name} of ${this.#cells.length} bytes`);
  }
}
