/**
 * Staging for the Node HAL: plain files in `<workDir>/staging/`. `sync()` is fsync, so the
 * contract's "durable up to the last sync" is the kernel's promise; creating and removing a file
 * also fsyncs the directory, or the entry itself could vanish in a power cut. `location` is the
 * absolute path (post-install commands get it as an argument).
 */
import { type FileHandle, open, readdir, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClosedError, HalError, InvalidOptionsError, NotFoundError } from '../errors.ts';
import type { Staging, StagingFile, StagingOpenOptions } from '../types.ts';
import { optionalBoolean, requireInteger, requireObject, validateStagingName } from '../shared/validate.ts';
import { writeFully } from './flash.ts';
import { code, fsyncDirectory } from './fs-util.ts';

export function createNodeStaging(options: {
  directory: string;
  /** Upper bound from the board's staging partition; the file system's free space also applies. */
  capacity: number | undefined;
  track: <T extends { close(): unknown }>(handle: T) => T;
  untrack: (handle: { close(): unknown }) => void;
}): Staging {
  const { directory, capacity } = options;
  /** Room set aside by open files (`StagingFile.reserve`), by name: counted as used. */
  const reserved = new Map<string, number>();
  const used = async (): Promise<number> => {
    let total = 0;
    for (const name of await readdir(directory)) {
      const size = (await stat(join(directory, name)).catch(() => ({ size: 0 }))).size;
      total += Math.max(size, reserved.get(name) ?? 0);
    }
    return total;
  };
  const room = async (): Promise<number> => {
    const fs = await statfs(directory);
    const free = fs.bavail * fs.bsize;
    return capacity === undefined ? free : Math.max(0, Math.min(free, capacity - (await used())));
  };
  return {
    async open(openOptions: StagingOpenOptions): Promise<StagingFile> {
      const o = requireObject(openOptions, 'staging.open');
      const name = validateStagingName(o.name, 'staging.open');
      const create = optionalBoolean(o.create, 'staging.open: create') ?? true;
      const path = join(directory, name);
      let handle: FileHandle;
      try {
        handle = await open(path, 'r+');
      } catch (error) {
        if (code(error) !== 'ENOENT') throw error;
        if (!create) throw new NotFoundError(`staging file ${name}`);
        handle = await open(path, 'a+').then(async (h) => {
          await h.close();
          return open(path, 'r+');
        });
        await fsyncDirectory(directory);
      }
      const file = new NodeStagingFile(name, path, handle, capacity === undefined ? undefined : room, reserved, () => options.untrack(file));
      return options.track(file);
    },
    async remove(name: string): Promise<void> {
      validateStagingName(name, 'staging.remove');
      reserved.delete(name);
      try {
        await unlink(join(directory, name));
      } catch (error) {
        if (code(error) === 'ENOENT') return; // Idempotent, as in the mock.
        throw error;
      }
      await fsyncDirectory(directory);
    },
    async list(): Promise<string[]> {
      const entries = await readdir(directory, { withFileTypes: true });
      return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
    },
    available: room,
  };
}

class NodeStagingFile implements StagingFile {
  readonly name: string;
  readonly location: string;
  readonly #handle: FileHandle;
  readonly #room: (() => Promise<number>) | undefined;
  readonly #reserved: Map<string, number>;
  readonly #onClose: () => void;
  /** The file may grow to this length without asking for room again (`reserve`). */
  #reservedEnd = 0;
  #closed = false;

  constructor(name: string, location: string, handle: FileHandle, room: (() => Promise<number>) | undefined, reserved: Map<string, number>, onClose: () => void) {
    this.name = name;
    this.location = location;
    this.#handle = handle;
    this.#room = room;
    this.#reserved = reserved;
    this.#onClose = onClose;
  }

  async size(): Promise<number> {
    this.#check('size');
    return (await this.#handle.stat()).size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.#check('read');
    requireInteger(offset, 'staging read: offset');
    requireInteger(length, 'staging read: length');
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) break; // end of file: shorter result, as in the mock
      done += bytesRead;
    }
    return out.subarray(0, done);
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.#check('write');
    requireInteger(offset, 'staging write: offset');
    if (!(bytes instanceof Uint8Array)) throw new InvalidOptionsError('staging write: bytes must be a Uint8Array');
    await this.#ensureRoom(offset + bytes.length);
    await noSpace(() => writeFully(this.#handle, bytes, offset));
  }

  async truncate(length: number): Promise<void> {
    this.#check('truncate');
    requireInteger(length, 'staging truncate: length');
    await this.#ensureRoom(length);
    await noSpace(() => this.#handle.truncate(length));
  }

  async sync(): Promise<void> {
    this.#check('sync');
    await this.#handle.sync();
  }

  async reserve(length: number): Promise<void> {
    this.#check('reserve');
    requireInteger(length, 'staging reserve: length');
    if (length <= this.#reservedEnd) return;
    await this.#ensureRoom(length);
    // An accounting reservation, not a physical one: the board's staging budget and the file
    // system's free space are checked once, here. Node has no fallocate(2) (a sparse truncate
    // reserves nothing); fallocate(1) would cost a process per download, and ext4 drops a
    // KEEP_SIZE preallocation on every truncate(2), which the resume path does. Another writer
    // can still fill the disk: ENOSPC on a later write maps to HalError 'noSpace', which the
    // download throws to its caller; the checkpoint still names only synced bytes.
    this.#reservedEnd = length;
    this.#reserved.set(this.name, length);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#reservedEnd > 0) this.#reserved.delete(this.name);
    this.#onClose();
    return this.#handle.close();
  }

  /**
   * Enforces the board's staging capacity when the file grows past its reservation. Inside the
   * reservation this costs nothing: the per-write fstat/statfs/readdir it replaces was the
   * largest single cost of a download (issue 12).
   */
  async #ensureRoom(end: number): Promise<void> {
    if (!this.#room || end <= this.#reservedEnd) return;
    const grows = end - Math.max((await this.#handle.stat()).size, this.#reservedEnd);
    if (grows > 0 && grows > (await this.#room()))
      throw new HalError('noSpace', `staging full: growing ${this.name} by ${grows} bytes exceeds the capacity`);
  }

  #check(call: string): void {
    if (this.#closed) throw new ClosedError(`staging file ${this.name} (${call})`);
  }
}

async function noSpace<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (code(error) === 'ENOSPC') throw new HalError('noSpace', 'staging full: no space left on the device');
    throw error;
  }
}
