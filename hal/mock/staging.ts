/**
 * Staging files for the mock, with a file system's durability semantics: what was `sync()`ed
 * survives a power loss; operations since the last sync survive only partly. The model is
 * deterministic so tests can reason about it: after a power loss the first half of the unsynced
 * operations (writes, truncates, in order) has landed, the next one is torn (half its bytes), the
 * rest is gone. A requested (clean) reboot flushes everything, like a clean unmount.
 *
 * Power-cut ticks: write, truncate, sync and remove each count one operation on the shared
 * `PowerCut`; the cut one lands partially (write: half its bytes; sync: half the journal;
 * remove: the unlink lands) and then fails. Creating a file is metadata-only and not counted.
 */
import { ClosedError, HalError, InvalidOptionsError, NotFoundError } from '../errors.ts';
import type { Staging, StagingFile, StagingOpenOptions } from '../types.ts';
import { optionalBoolean, requireInteger, requireObject, validateStagingName } from '../shared/validate.ts';
import type { Lifecycle } from '../shared/lifecycle.ts';
import type { PowerCut } from './power-cut.ts';

type Operation = { kind: 'write'; offset: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

interface StoredFile {
  /** Content as of the last sync (what survives a power loss). */
  durable: GrowableBytes;
  /** Content as the running system sees it. */
  content: GrowableBytes;
  /** Operations since the last sync (replayed onto `durable` by a sync: cost ∝ unsynced bytes). */
  journal: Operation[];
}

/** A byte array edited in place with amortised growth (staged packages are megabytes). */
class GrowableBytes {
  #buffer = new Uint8Array(0);
  length = 0;

  view(): Uint8Array {
    return this.#buffer.subarray(0, this.length);
  }

  apply(op: Operation): void {
    if (op.kind === 'truncate') this.#resize(op.length);
    else {
      const end = op.offset + op.bytes.length;
      if (end > this.length) this.#resize(end);
      this.#buffer.set(op.bytes, op.offset);
    }
  }

  copyFrom(other: GrowableBytes): void {
    this.#resize(0);
    this.apply({ kind: 'write', offset: 0, bytes: other.view() });
  }

  #resize(length: number): void {
    if (length > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(length, this.#buffer.length * 2, 4096));
      grown.set(this.view());
      this.#buffer = grown;
    }
    // Bytes past the end read as zeros when the file grows again (like a sparse file).
    if (length < this.length) this.#buffer.fill(0, length, this.length);
    this.length = length;
  }
}

/** The persistent part: lives in `MockHardware`, survives reboots. */
export class MockStagingStore {
  readonly capacity: number;
  readonly files = new Map<string, StoredFile>();
  /** Room set aside by open handles (`StagingFile.reserve`), by name; gone with a reboot. */
  readonly reserved = new Map<string, number>();
  readonly #power: PowerCut;

  constructor(power: PowerCut, capacity: number) {
    this.#power = power;
    this.capacity = capacity;
  }

  used(): number {
    let total = 0;
    for (const [name, file] of this.files) total += Math.max(file.content.length, this.reserved.get(name) ?? 0);
    return total;
  }

  /** Whether `name` may hold `length` bytes: its own reservation counts as its own room. */
  fits(name: string, length: number): boolean {
    const file = this.files.get(name);
    const own = Math.max(file?.content.length ?? 0, this.reserved.get(name) ?? 0);
    return this.used() - own + Math.max(own, length) <= this.capacity;
  }

  /** Power loss: keep synced content plus the deterministic part of the journal. */
  powerLoss(): void {
    this.reserved.clear();
    for (const file of this.files.values()) {
      const keep = Math.floor(file.journal.length / 2);
      for (const op of file.journal.slice(0, keep)) file.durable.apply(op);
      const torn = file.journal[keep];
      if (torn?.kind === 'write') file.durable.apply({ ...torn, bytes: torn.bytes.subarray(0, Math.floor(torn.bytes.length / 2)) });
      file.content.copyFrom(file.durable);
      file.journal = [];
    }
  }

  /** Clean shutdown: everything written is flushed. */
  flushAll(): void {
    for (const file of this.files.values()) {
      for (const op of file.journal) file.durable.apply(op);
      file.journal = [];
    }
  }

  /** The `Staging` facet for one boot; handles are tracked by the boot's lifecycle. */
  facet(lifecycle: Lifecycle): Staging {
    const store = this;
    const power = this.#power;
    return {
      async open(options: StagingOpenOptions): Promise<StagingFile> {
        const o = requireObject(options, 'staging.open');
        const name = validateStagingName(o.name, 'staging.open');
        const create = optionalBoolean(o.create, 'staging.open: create') ?? true;
        power.check('staging.open');
        if (!store.files.has(name)) {
          if (!create) throw new NotFoundError(`staging file ${name}`);
          store.files.set(name, { durable: new GrowableBytes(), content: new GrowableBytes(), journal: [] });
        }
        const handle = new MockStagingFile(name, store, power, () => lifecycle.untrack(handle));
        return lifecycle.track(handle);
      },
      async remove(name: string): Promise<void> {
        validateStagingName(name, 'staging.remove');
        power.check('staging.remove');
        if (!store.files.has(name)) return; // Idempotent: cleanup after a crash may not know.
        const cut = power.tick('staging.remove');
        store.files.delete(name);
        store.reserved.delete(name);
        if (cut) power.fail('staging.remove');
      },
      async list(): Promise<string[]> {
        power.check('staging.list');
        return [...store.files.keys()].sort();
      },
      async available(): Promise<number> {
        power.check('staging.available');
        return Math.max(0, store.capacity - store.used());
      },
    };
  }

  /** Used by file handles. */
  file(name: string): StoredFile {
    const file = this.files.get(name);
    if (!file) throw new NotFoundError(`staging file ${name} (removed)`);
    return file;
  }
}

class MockStagingFile implements StagingFile {
  readonly name: string;
  readonly location: string;
  readonly #store: MockStagingStore;
  readonly #power: PowerCut;
  readonly #onClose: () => void;
  #closed = false;

  constructor(name: string, store: MockStagingStore, power: PowerCut, onClose: () => void) {
    this.name = name;
    this.location = `mock:/staging/${name}`;
    this.#store = store;
    this.#power = power;
    this.#onClose = onClose;
  }

  async size(): Promise<number> {
    return this.#file('size').content.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const file = this.#file('read');
    requireInteger(offset, 'staging read: offset');
    requireInteger(length, 'staging read: length');
    return file.content.view().slice(offset, offset + length);
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    const file = this.#file('write');
    requireInteger(offset, 'staging write: offset');
    if (!(bytes instanceof Uint8Array)) throw new InvalidOptionsError('staging write: bytes must be a Uint8Array');
    if (!this.#store.fits(this.name, offset + bytes.length))
      throw new HalError('noSpace', `staging full: ${bytes.length} bytes at ${offset} exceed the capacity of ${this.#store.capacity}`);
    const cut = this.#power.tick('staging.write');
    const landed = cut ? bytes.slice(0, Math.floor(bytes.length / 2)) : bytes.slice();
    const op: Operation = { kind: 'write', offset, bytes: landed };
    file.content.apply(op);
    file.journal.push(op);
    if (cut) this.#power.fail('staging.write');
  }

  async truncate(length: number): Promise<void> {
    const file = this.#file('truncate');
    requireInteger(length, 'staging truncate: length');
    if (!this.#store.fits(this.name, length)) throw new HalError('noSpace', `staging full: cannot extend ${this.name} to ${length} bytes`);
    const cut = this.#power.tick('staging.truncate');
    const op: Operation = { kind: 'truncate', length };
    file.content.apply(op);
    file.journal.push(op);
    if (cut) this.#power.fail('staging.truncate');
  }

  async sync(): Promise<void> {
    const file = this.#file('sync');
    const cut = this.#power.tick('staging.sync');
    // A sync interrupted half way made the older half of the journal durable.
    const keep = cut ? Math.floor(file.journal.length / 2) : file.journal.length;
    for (const op of file.journal.slice(0, keep)) file.durable.apply(op);
    file.journal = file.journal.slice(keep);
    if (cut) this.#power.fail('staging.sync');
  }

  async reserve(length: number): Promise<void> {
    this.#file('reserve');
    requireInteger(length, 'staging reserve: length');
    if (length <= (this.#store.reserved.get(this.name) ?? 0)) return;
    if (!this.#store.fits(this.name, length))
      throw new HalError('noSpace', `staging full: cannot reserve ${length} bytes for ${this.name} (capacity ${this.#store.capacity})`);
    this.#store.reserved.set(this.name, length);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#store.reserved.delete(this.name);
    this.#onClose();
  }

  #file(call: string): StoredFile {
    if (this.#closed) throw new ClosedError(`staging file ${this.name} (${call})`);
    this.#power.check(`staging.${call}`);
    return this.#store.file(this.name);
  }
}

export function validateStagingCapacity(value: unknown): number {
  return value === undefined ? 64 * 1024 * 1024 : requireInteger(value, 'MockHardware: stagingCapacity', 0);
}
