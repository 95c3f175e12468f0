/**
 * Flash for the Node HAL: ONE image file per board (`<workDir>/flash.img`), partitions are
 * offset ranges in it. The rules are the mock's strict NOR rules (aligned writes, programming
 * only clears bits, whole-block erase), because the same store and update code runs on both and
 * must not come to rely on file semantics. Every write and erase is followed by fdatasync (the
 * image never changes size, so data sync is the whole of durability here): a completed call is
 * durable, which is what the crash-safe store is built on.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { ClosedError, FlashError, InvalidOptionsError } from '../errors.ts';
import type { Flash, FlashOpenOptions, FlashPartition, FlashStatus } from '../types.ts';
import type { RawPartition } from './options.ts';

export interface FlashGeometry {
  blockLength: number;
  writeAlign: number;
  eraseValue: number;
}

const FILL_CHUNK = 1024 * 1024;

/**
 * Blocks an erase reads ahead to find which are already erased: one 256 KiB read (64 blocks of
 * 4 KiB) answers the next 63 erases of a store compaction without I/O. A compaction erases every
 * block of its target area (1 024 for the sim board's 8 MiB package DB), and one read per block
 * was ~1 000 thread-pool round trips, 0.3–1 s of a first install on a loaded machine (issue 12).
 */
const ERASE_LOOKAHEAD_BYTES = 256 * 1024;

export class FlashImage {
  readonly path: string;
  readonly size: number;
  readonly geometry: FlashGeometry;
  readonly #handle: FileHandle;
  readonly #partitions: Map<string, RawPartition>;
  /** One operation at a time: the not-erased check and the write must not interleave. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Set by the first failed operation: the file may then hold bytes the disk does not (see eraseBlock). */
  failed = false;
  /**
   * Image blocks (absolute index) read as erased by an erase's look-ahead and not written since:
   * their erase needs no read. Only this process writes the image, and every write goes through
   * `written()`, so the set cannot go stale; a failed operation empties it (`failed`).
   */
  readonly #erased = new Set<number>();

  private constructor(path: string, handle: FileHandle, geometry: FlashGeometry, partitions: RawPartition[], size: number) {
    this.path = path;
    this.#handle = handle;
    this.geometry = geometry;
    this.#partitions = new Map(partitions.map((p) => [p.name, p]));
    this.size = size;
  }

  /** Opens the image, creating it (or growing it) filled with the erase value. */
  static async open(path: string, geometry: FlashGeometry, partitions: RawPartition[]): Promise<FlashImage> {
    const size = partitions.reduce((end, p) => Math.max(end, p.offset + p.size), 0);
    const handle = await open(path, 'a+').then(async (h) => {
      // 'a+' creates without truncating; reopen read/write without append semantics.
      await h.close();
      return open(path, 'r+');
    });
    try {
      const current = (await handle.stat()).size;
      if (current < size) {
        const fill = Buffer.alloc(Math.min(FILL_CHUNK, size - current), geometry.eraseValue);
        for (let offset = current; offset < size; offset += fill.length)
          await writeFully(handle, fill.subarray(0, Math.min(fill.length, size - offset)), offset);
        await handle.sync();
      }
      return new FlashImage(path, handle, geometry, partitions, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The `Flash` facet; `track` registers opened partitions with the device's lifecycle. */
  facet(track: (partition: FlashPartition) => FlashPartition): Flash {
    return {
      partitions: () => [...this.#partitions.keys()],
      open: async (options: FlashOpenOptions) => {
        if (!options || typeof options.partition !== 'string') throw new InvalidOptionsError('open: partition name required');
        const partition = this.#partitions.get(options.partition);
        if (!partition) throw new FlashError('noPartition', `no partition named ${options.partition}`);
        return track(new FilePartition(this, partition));
      },
    };
  }

  /** Runs `operation` alone on the image. */
  exclusive<T>(operation: (handle: FileHandle) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new ClosedError('flash image');
      return operation(this.#handle).catch((error: unknown) => {
        this.failed = true;
        this.#erased.clear();
        throw error;
      });
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Inside `exclusive`: whether the block at image offset `position` is erased (see ERASE_LOOKAHEAD_BYTES), reading ahead up to `end`. */
  async isErasedBlock(handle: FileHandle, position: number, end: number): Promise<boolean> {
    const { blockLength, eraseValue } = this.geometry;
    const block = position / blockLength;
    if (this.#erased.has(block)) return true;
    const span = await readFully(handle, position, Math.max(blockLength, Math.min(ERASE_LOOKAHEAD_BYTES, end - position)));
    const bytes = Buffer.from(span.buffer, span.byteOffset, span.length);
    const erased = Buffer.alloc(blockLength, eraseValue);
    for (let at = 0; at < bytes.length; at += blockLength) if (bytes.subarray(at, at + blockLength).equals(erased)) this.#erased.add(block + at / blockLength);
    return this.#erased.has(block);
  }

  /** Inside `exclusive`, before a write or erase lands on [position, position + length): those blocks are no longer known erased. */
  written(position: number, length: number): void {
    const { blockLength } = this.geometry;
    for (let block = Math.floor(position / blockLength); block * blockLength < position + length; block++) this.#erased.delete(block);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#handle.close();
  }
}

class FilePartition implements FlashPartition {
  readonly name: string;
  readonly #image: FlashImage;
  readonly #offset: number;
  readonly #size: number;
  #closed = false;
  onClose: (() => void) | undefined;

  constructor(image: FlashImage, partition: RawPartition) {
    this.name = partition.name;
    this.#image = image;
    this.#offset = partition.offset;
    this.#size = partition.size;
  }

  status(): FlashStatus {
    this.#open('status');
    const { blockLength, writeAlign, eraseValue } = this.#image.geometry;
    return { size: this.#size, blockLength, blocks: this.#size / blockLength, eraseValue, writeAlign };
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.#open('read');
    this.#range(offset, length);
    return this.#image.exclusive((handle) => readFully(handle, this.#offset + offset, length));
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.#open('write');
    if (!(bytes instanceof Uint8Array)) throw new InvalidOptionsError('write: bytes must be a Uint8Array');
    this.#range(offset, bytes.length);
    const align = this.#image.geometry.writeAlign;
    if (offset % align !== 0 || bytes.length % align !== 0)
      throw new FlashError('misaligned', `write at ${offset} of ${bytes.length} bytes is not aligned to ${align}`);
    const data = bytes.slice(); // the caller may reuse its buffer while we wait our turn
    await this.#image.exclusive(async (handle) => {
      const current = await readFully(handle, this.#offset + offset, data.length);
      for (let i = 0; i < data.length; i++) {
        const next = data[i] as number;
        if (((current[i] as number) & next) !== next) throw new FlashError('notErased', `write at ${offset + i} would set programmed bits`);
      }
      this.#image.written(this.#offset + offset, data.length);
      await io('write', async () => {
        await writeFully(handle, data, this.#offset + offset);
        await handle.datasync();
      });
    });
  }

  async eraseBlock(index: number): Promise<void> {
    this.#open('eraseBlock');
    const { blockLength, eraseValue } = this.#image.geometry;
    const blocks = this.#size / blockLength;
    if (!Number.isInteger(index) || index < 0 || index >= blocks) throw new FlashError('outOfRange', `block ${index} outside 0..${blocks - 1}`);
    const position = this.#offset + index * blockLength;
    const erased = Buffer.alloc(blockLength, eraseValue);
    await this.#image.exclusive(async (handle) => {
      // A block that already reads erased is left alone: every completed write and erase of this
      // image was datasynced, so what the file holds is what the disk holds, and the store writes
      // (and syncs, which is file-wide) before it relies on an erase. A store's first compaction
      // formats a blank area, ~1 000 blocks for the package DB: 1 000 writes and fdatasyncs of
      // bytes already there, ~0.3–1 s of a device's first install (issue 12); the check reads
      // ahead, so those 1 000 erases cost 16 reads. Not after a failed operation, when the file
      // may hold bytes the disk lost.
      if (!this.#image.failed && (await this.#image.isErasedBlock(handle, position, this.#offset + this.#size))) return;
      this.#image.written(position, blockLength);
      await io('erase', async () => {
        await writeFully(handle, erased, position);
        await handle.datasync();
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose?.();
  }

  #open(call: string): void {
    if (this.#closed) throw new ClosedError(`flash partition ${this.name} (${call})`);
  }

  #range(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.#size)
      throw new FlashError('outOfRange', `range ${offset}+${length} outside partition ${this.name} of ${this.#size} bytes`);
  }
}

async function readFully(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new FlashError('io', `flash image ends before ${position + done}`);
    done += bytesRead;
  }
  return out;
}

export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

async function io(what: string, operation: () => Promise<void>): Promise<void> {
  try {
    await operation();
  } catch (error) {
    if (error instanceof FlashError) throw error;
    throw new FlashError('io', `flash ${what} failed: ${(error as Error).message}`);
  }
}
