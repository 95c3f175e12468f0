/**
 * A/B firmware slots over any `Flash`: the `update` facet of both the mock and the Node HAL,
 * plus the bootloader's part (`bootloaderStep`), which a real device runs before the OS and the
 * HALs run when they "boot".
 *
 * Partitions: `slot_a`, `slot_b` hold images; `bootctl` holds the crash-safe boot-control record
 * (./boot-control.ts). Every state change is one record save, written after the slot bytes it
 * describes, so a power cut at any flash operation leaves either the old or the new state, and
 * the active slot is never written while it is the one booting (or the trial's fallback).
 *
 * Boot semantics (like U-Boot's bootcount/upgrade_available):
 *  - a completed image is `pending`; the next boot makes it active as a trial (confirmed=false,
 *    bootCount=1);
 *  - every further unconfirmed boot increments bootCount; once it would exceed `bootCountLimit`,
 *    or after `rollback()`, the boot returns to the other slot, confirmed;
 *  - `confirm()` ends the trial; bootCount stays 0 on confirmed boots (no wear per boot).
 */
import { ClosedError, UpdateError } from '../errors.ts';
import type { Flash, FlashPartition, SlotInfo, SlotName, SlotOpenOptions, SlotWriter, Update, UpdateStatus } from '../types.ts';
import { BootControlStore, type BootControlRecord, otherSlot } from './boot-control.ts';
import { AlignedSlotWriter } from './slot-writer.ts';
import { optionalBoolean, requireInteger, requireObject, requireString } from './validate.ts';

export const DEFAULT_BOOT_COUNT_LIMIT = 3;
export const AB_PARTITIONS = { bootControl: 'bootctl', a: 'slot_a', b: 'slot_b' } as const;
const MAX_VERSION_LENGTH = 128;

export interface BootOutcome {
  /** normal: confirmed slot; trial: unconfirmed image; rolledBack: went back this boot; unavailable: no A/B partitions. */
  kind: 'normal' | 'trial' | 'rolledBack' | 'unavailable';
  active?: SlotName;
  /** Boot-control copies that were damaged (a torn save after a power cut is normal). */
  damagedCopies: number[];
}

export interface AbUpdateOptions {
  flash: Flash;
  bootCountLimit?: number;
}

export interface AbUpdateHandle {
  readonly update: Update;
  /** Settles once the bootloader step ran; rejects with its failure (e.g. a power cut). */
  readonly booted: Promise<BootOutcome>;
  /** Version of the image the device runs, when the active slot holds a completed one. */
  activeVersion(): Promise<string | undefined>;
  /** Idempotent; closes the slot partitions and any open writer. */
  close(): void;
}

/**
 * Opens the slots and runs the bootloader step in the background; every `update` call waits for
 * it. The Node HAL awaits `booted` at start; the mock's synchronous `boot()` cannot, so its
 * failures surface from the first update call instead.
 */
export function startAbUpdate(options: AbUpdateOptions): AbUpdateHandle {
  const limit = options.bootCountLimit ?? DEFAULT_BOOT_COUNT_LIMIT;
  let closed = false;
  let opened: AbSlots | undefined;
  const slotsPromise = AbSlots.open(options.flash).then((slots) => {
    opened = slots;
    if (closed) slots?.close(); // closed while opening
    return slots;
  });
  const booted = slotsPromise.then((slots) => (slots ? slots.bootloaderStep(limit) : { kind: 'unavailable' as const, damagedCopies: [] }));
  // The outcome is observed through `update` calls; an unobserved failure must not crash the host.
  booted.catch(() => {});
  const ready = async (): Promise<AbSlots> => {
    await booted;
    const slots = await slotsPromise;
    if (closed) throw new ClosedError('update');
    if (!slots) throw new UpdateError('state', `this board has no A/B slots (needs partitions ${Object.values(AB_PARTITIONS).join(', ')})`);
    return slots;
  };
  const update: Update = {
    status: async () => (await ready()).status(),
    openInactive: async (slotOptions) => (await ready()).openInactive(slotOptions),
    confirm: async () => (await ready()).confirm(),
    rollback: async () => (await ready()).rollback(),
    readActive: async (offset, length) => (await ready()).readActive(offset, length),
  };
  return {
    update,
    booted,
    async activeVersion() {
      // After the bootloader step: a trial boot runs the new image.
      await booted.catch(() => undefined);
      const slots = await slotsPromise.catch(() => undefined);
      return slots?.activeVersion();
    },
    close() {
      // Synchronous when the slots are open, so a writer of a closed device stops at once.
      if (closed) return;
      closed = true;
      opened?.close();
    },
  };
}

export function validateBootCountLimit(value: unknown, where: string): number | undefined {
  return value === undefined ? undefined : requireInteger(value, where, 1, 1000);
}

class AbSlots {
  readonly #store: BootControlStore;
  readonly #partitions: Record<SlotName, FlashPartition>;
  readonly #handles: FlashPartition[];
  #record!: BootControlRecord;
  #damagedCopies: number[] = [];
  #writer: AlignedSlotWriter | undefined;
  /** Record saves run one at a time: each builds on the record the previous one left. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(control: FlashPartition, a: FlashPartition, b: FlashPartition) {
    this.#store = new BootControlStore(control);
    this.#partitions = { a, b };
    this.#handles = [control, a, b];
  }

  static async open(flash: Flash): Promise<AbSlots | undefined> {
    const names = flash.partitions();
    if (!Object.values(AB_PARTITIONS).every((name) => names.includes(name))) return undefined;
    const opened: FlashPartition[] = [];
    try {
      for (const name of [AB_PARTITIONS.bootControl, AB_PARTITIONS.a, AB_PARTITIONS.b])
        opened.push(await flash.open({ partition: name }));
      const [control, a, b] = opened as [FlashPartition, FlashPartition, FlashPartition];
      const slots = new AbSlots(control, a, b);
      const loaded = await slots.#store.load();
      slots.#record = loaded.record;
      slots.#damagedCopies = loaded.damagedCopies;
      return slots;
    } catch (error) {
      for (const handle of opened) handle.close();
      throw error;
    }
  }

  async bootloaderStep(limit: number): Promise<BootOutcome> {
    const r = clone(this.#record);
    let kind: BootOutcome['kind'] = 'normal';
    if (r.pending !== undefined && r.pending !== r.active) {
      r.active = r.pending;
      r.pending = undefined;
      r.confirmed = false;
      r.bootCount = 1;
      r.rollbackRequested = false;
      kind = 'trial';
    } else if (!r.confirmed) {
      if (r.rollbackRequested || r.bootCount + 1 > limit) {
        r.active = otherSlot(r.active);
        r.confirmed = true;
        r.bootCount = 0;
        r.rollbackRequested = false;
        kind = 'rolledBack';
      } else {
        r.bootCount += 1;
        kind = 'trial';
      }
    } else if (r.pending !== undefined) {
      r.pending = undefined; // pending == active cannot be produced by this module; heal it.
    } else {
      return { kind, active: r.active, damagedCopies: this.#damagedCopies };
    }
    await this.#commit(r);
    return { kind, active: r.active, damagedCopies: this.#damagedCopies };
  }

  status(): UpdateStatus {
    const r = this.#record;
    const slots: SlotInfo[] = (['a', 'b'] as const).map((slot) => {
      const s = r.slots[slot];
      return s.state === 'complete' ? { slot, version: s.version, size: s.size, sha256: s.sha256 } : { slot };
    });
    const status: UpdateStatus = { active: r.active, confirmed: r.confirmed, bootCount: r.bootCount, slots };
    if (r.pending !== undefined) status.pending = r.pending;
    return status;
  }

  activeVersion(): string | undefined {
    const active = this.#record.slots[this.#record.active];
    return active.state === 'complete' ? active.version : undefined;
  }

  async openInactive(options: SlotOpenOptions): Promise<SlotWriter> {
    const o = requireObject(options, 'openInactive');
    const size = requireInteger(o.size, 'openInactive: size', 1);
    const version = requireString(o.version, 'openInactive: version', { maxLength: MAX_VERSION_LENGTH });
    const resume = optionalBoolean(o.resume, 'openInactive: resume') ?? false;
    if (!this.#record.confirmed)
      throw new UpdateError('state', 'a trial boot is running: confirm or roll back before writing the other slot (it is the fallback)');
    const slot = otherSlot(this.#record.active);
    const partition = this.#partitions[slot];
    const status = partition.status();
    if (size > status.size) throw new UpdateError('tooLarge', `image of ${size} bytes does not fit slot ${slot} of ${status.size} bytes`);
    this.#writer?.close();

    const existing = this.#record.slots[slot];
    const sameImage = existing.version === version && existing.size === size;
    let durable = 0;
    if (resume && sameImage && existing.state === 'complete') durable = size;
    else if (resume && sameImage && existing.state === 'writing') durable = existing.durableLength ?? 0;
    if (durable === 0) {
      // Record first: once the erase starts, the slot no longer holds what the record said.
      await this.#mutate((r) => {
        if (r.pending === slot) r.pending = undefined;
        r.slots[slot] = { state: 'writing', version, size, durableLength: 0 };
      });
      await eraseForImage(partition, size);
    }
    const writer: AlignedSlotWriter = new AlignedSlotWriter({
      slot,
      partition,
      size,
      durableLength: durable,
      hooks: {
        persistDurable: (length) =>
          this.#mutate((r) => {
            const s = r.slots[slot];
            if (s.state === 'writing' && s.version === version) s.durableLength = length;
          }),
        markComplete: (sha256) =>
          this.#mutate((r) => {
            r.slots[slot] = { state: 'complete', version, size, sha256 };
            r.pending = slot;
          }),
        closed: () => {
          if (this.#writer === writer) this.#writer = undefined;
        },
      },
    });
    await writer.restorePartialTail();
    this.#writer = writer;
    return writer;
  }

  /** The active slot's bytes (a delta's source); never the slot being written. */
  async readActive(offset: number, length: number): Promise<Uint8Array> {
    requireInteger(offset, 'readActive: offset', 0);
    requireInteger(length, 'readActive: length', 0);
    const partition = this.#partitions[this.#record.active];
    const size = partition.status().size;
    if (offset + length > size) throw new UpdateError('tooLarge', `readActive ${offset}+${length} beyond slot ${this.#record.active} of ${size} bytes`);
    return partition.read(offset, length);
  }

  async confirm(): Promise<void> {
    const r = this.#record;
    if (r.rollbackRequested) throw new UpdateError('state', 'a rollback was requested for this trial; reboot first');
    if (r.confirmed) return; // Idempotent: agents confirm on every healthy boot.
    await this.#mutate((next) => {
      next.confirmed = true;
      next.bootCount = 0;
    });
  }

  async rollback(): Promise<void> {
    const r = this.#record;
    if (r.pending !== undefined) {
      const pending = r.pending;
      this.#writer?.close();
      await this.#mutate((next) => {
        next.pending = undefined;
        next.slots[pending] = { state: 'empty' };
      });
    } else if (!r.confirmed) {
      if (!r.rollbackRequested) await this.#mutate((next) => void (next.rollbackRequested = true));
    } else {
      throw new UpdateError('state', 'nothing to roll back: no pending image and no trial boot');
    }
  }

  close(): void {
    this.#writer?.close();
    for (const handle of this.#handles) handle.close();
  }

  #mutate(change: (record: BootControlRecord) => void): Promise<void> {
    const run = this.#queue.then(() => {
      const next = clone(this.#record);
      change(next);
      return this.#commit(next);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #commit(next: BootControlRecord): Promise<void> {
    await this.#store.save(next);
    this.#record = next;
  }
}

function clone(record: BootControlRecord): BootControlRecord {
  return JSON.parse(JSON.stringify(record)) as BootControlRecord;
}

/**
 * Erases the blocks an image of `size` bytes needs, skipping blocks that already read blank:
 * fewer erase cycles (wear) and no durable erase per block where none is needed (on the Node
 * HAL each erase is an fdatasync). A block torn by an interrupted erase does not read blank and
 * is erased again. (A driver for real NOR whose interrupted erases can leave *weakly* erased
 * cells that read blank should erase unconditionally.)
 */
async function eraseForImage(partition: FlashPartition, size: number): Promise<void> {
  const { blockLength, eraseValue } = partition.status();
  const blocks = Math.ceil(size / blockLength);
  for (let block = 0; block < blocks; block++) {
    const content = await partition.read(block * blockLength, blockLength);
    if (!content.every((b) => b === eraseValue)) await partition.eraseBlock(block);
  }
}
