/**
 * The firmware-slot sink of the pipeline (./sinks.ts has the interface and the staging-file
 * sink): the inactive A/B slot as a download target. Only the image families write slots, so
 * this module is imported by ./image-download.ts and handed to the runner there
 * (`PipelineMachineOptions.slotSink`): a board that only installs packages never loads it.
 */
import { HalError } from '../../hal/errors.ts';
import type { SlotName, SlotWriter, Update } from '../../hal/types.ts';
import { equalBytes } from '../util/bytes.ts';
import { type Sink, type SinkHandle, SinkError } from './sinks.ts';

const NO_BYTES = new Uint8Array(0);

export interface SlotSinkHandle extends SinkHandle {
  readonly slot: SlotName;
  /** Verifies the whole slot against `sha256` and marks it pending for the next boot (`SlotWriter.complete`). */
  complete(sha256: string): Promise<void>;
}

/**
 * The inactive A/B slot (`device.update.openInactive`), for an image of `image.size` bytes.
 *
 * NOR flash cannot take new content over programmed bytes without an erase, and erasing is
 * per block and slow, so "truncate" on a slot is not a real truncation:
 *  - `truncate(0)` reopens the slot without resume, which erases it (skipped while the slot is
 *    still erased and untouched, so a fresh download does not erase twice);
 *  - `truncate(n > 0)` keeps the flash as it is and only promises that the caller rewrites bytes
 *    from `n` with the *same* content (a resume of the same artifact). Rewritten bytes below
 *    what is known to be programmed are compared with the flash instead of programmed again,
 *    which saves wear and turns a different artifact into `SinkError('rewriteConflict')` before
 *    any cell is touched. Past that mark, bytes an interrupted session programmed unknown to
 *    us can still clash: the flash's `notErased` failure becomes the same `rewriteConflict`.
 *    Either way the caller restarts at 0 (which erases).
 *  - `truncate(n)` beyond the slot's durable length (plus what this handle wrote) is
 *    `SinkError('cannotResume')`: those bytes were never made durable.
 */
export function slotSink(update: Update, image: { size: number; version: string }): Sink<SlotSinkHandle> {
  return {
    async open({ resume }) {
      const writer = await update.openInactive({ size: image.size, version: image.version, resume });
      return new SlotSinkHandleImpl(update, image, writer);
    },
  };
}

class SlotSinkHandleImpl implements SlotSinkHandle {
  readonly #update: Update;
  readonly #image: { size: number; version: string };
  #writer: SlotWriter;
  /** Bytes below this are on flash already (durable at open, or written through this handle). */
  #programmedEnd: number;
  /** The slot is erased and nothing was written since (a `truncate(0)` need not erase again). */
  #pristine: boolean;
  /** Writes below this are compared with the flash, not programmed: set by `truncate(n > 0)`. */
  #rewriteEnd = 0;

  constructor(update: Update, image: { size: number; version: string }, writer: SlotWriter) {
    this.#update = update;
    this.#image = image;
    this.#writer = writer;
    this.#programmedEnd = writer.durableLength;
    // Opening without durable bytes always erases the slot (see `Update.openInactive`).
    this.#pristine = writer.durableLength === 0;
  }

  get slot(): SlotName {
    return this.#writer.slot;
  }

  get location(): string {
    return `slot:${this.#writer.slot}`;
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    let skip = 0;
    if (offset < this.#rewriteEnd) {
      skip = Math.min(bytes.length, this.#rewriteEnd - offset);
      const present = await this.#writer.read(offset, skip);
      if (!equalBytes(present, bytes.subarray(0, skip)))
        throw new SinkError('rewriteConflict', `slot ${this.slot} holds other bytes in ${offset}..${offset + skip}: the artifact changed, erase and restart`);
    }
    const end = offset + bytes.length;
    if (skip < bytes.length) {
      this.#pristine = false; // even a failed write may have programmed some cells
      try {
        const written = this.#writer.write(offset + skip, skip === 0 ? bytes : bytes.subarray(skip));
        // The writer has the bytes (the QuickJS bridge copied them): this frame does not keep the
        // chunk alive while the flash programs it.
        bytes = NO_BYTES;
        await written;
      } catch (error) {
        if (error instanceof HalError && error.code === 'notErased')
          throw new SinkError('rewriteConflict', `slot ${this.slot}: flash at ${offset + skip} was programmed by an earlier session with other bytes`);
        throw error;
      }
    }
    this.#programmedEnd = Math.max(this.#programmedEnd, end);
  }

  sync(): Promise<void> {
    return this.#writer.sync();
  }

  async truncate(length: number): Promise<void> {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`truncate: length must be a non-negative integer, got ${length}`);
    if (length === 0) {
      if (this.#pristine) return;
      await this.#writer.close();
      this.#writer = await this.#update.openInactive({ size: this.#image.size, version: this.#image.version, resume: false });
      this.#programmedEnd = 0;
      this.#pristine = true;
      this.#rewriteEnd = 0;
      return;
    }
    if (length > this.#programmedEnd)
      throw new SinkError('cannotResume', `slot ${this.slot} has ${this.#programmedEnd} bytes programmed, cannot resume at ${length}`);
    this.#rewriteEnd = Math.max(this.#rewriteEnd, this.#programmedEnd);
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return this.#writer.read(offset, length);
  }

  complete(sha256: string): Promise<void> {
    return this.#writer.complete({ sha256 });
  }

  async close(): Promise<void> {
    await this.#writer.close();
  }
}
