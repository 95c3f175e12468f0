/**
 * Where artifact bytes go. The download stage writes through one small interface and does not
 * know whether the bytes land in a staging file (pull-model packages, installed by a command) or
 * in the inactive firmware slot (OMA DM FUMO, the update web service).
 *
 * Resume contract shared by all sinks: `sync()` makes every written byte durable; after a crash
 * the download truncates back to its last checkpoint (which it records only after a sync) and
 * rewrites from there. A sink that cannot keep the bytes asked for throws
 * `SinkError('cannotResume')`; a sink that cannot take the rewritten bytes (NOR flash already
 * programmed with other content) throws `SinkError('rewriteConflict')`. The download answers both
 * by starting over from byte 0.
 */
import { HalError } from '../../hal/errors.ts';
import type { SlotName, SlotWriter, Staging, StagingFile, Update } from '../../hal/types.ts';
import { equalBytes } from '../util/bytes.ts';

export interface SinkHandle {
  /** Where the host finds the artifact (staging file path on Linux, 'slot:b' for a firmware slot). */
  readonly location: string;
  /** Writes `bytes` at `offset`; keeps no reference to `bytes` once settled (the caller reuses the buffer). */
  write(offset: number, bytes: Uint8Array): Promise<void>;
  /** Makes everything written durable. */
  sync(): Promise<void>;
  /** Drops bytes at and after `length` (restart from a checkpoint or from zero). */
  truncate(length: number): Promise<void>;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
  /** Sets room aside for `length` bytes once, before the first write (a staging file; a slot is sized already). */
  reserve?(length: number): Promise<void>;
  /**
   * `sync()` may run while later writes go on (a file: fsync covers at least what was written
   * before it began). Absent: the download stops writing while it syncs (a slot writer flushes
   * its partial alignment units in `sync`, which a concurrent write would race).
   */
  readonly syncWhileWriting?: boolean;
}

export interface Sink<H extends SinkHandle = SinkHandle> {
  /** `resume: false` starts empty; `resume: true` keeps what an earlier run made durable. */
  open(options: { resume: boolean }): Promise<H>;
}

export type SinkErrorCode = 'cannotResume' | 'rewriteConflict';

export class SinkError extends Error {
  readonly code: SinkErrorCode;
  constructor(code: SinkErrorCode, message: string) {
    super(message);
    this.name = 'SinkError';
    this.code = code;
  }
}

// ───────────────────────────── staging files ─────────────────────────────

/** A staging file named `name` (`device.staging`). */
export function stagingSink(staging: Staging, name: string): Sink {
  return {
    async open({ resume }) {
      const file = await staging.open({ name, create: true });
      try {
        if (!resume) await file.truncate(0);
      } catch (error) {
        await file.close();
        throw error;
      }
      return new StagingSinkHandle(file);
    },
  };
}

class StagingSinkHandle implements SinkHandle {
  readonly syncWhileWriting = true;
  readonly #file: StagingFile;

  constructor(file: StagingFile) {
    this.#file = file;
  }

  get location(): string {
    return this.#file.location;
  }

  write(offset: number, bytes: Uint8Array): Promise<void> {
    return this.#file.write(offset, bytes);
  }

  sync(): Promise<void> {
    return this.#file.sync();
  }

  reserve(length: number): Promise<void> {
    return this.#file.reserve(length);
  }

  async truncate(length: number): Promise<void> {
    // Truncating "up" would extend the file with zeros that the caller's hash state claims are
    // artifact bytes: a file shorter than the checkpoint lost data (removed, or a sync that did
    // not land), so resuming there is impossible.
    const size = await this.#file.size();
    if (length > size) throw new SinkError('cannotResume', `staging file ${this.#file.name} holds ${size} bytes, cannot resume at ${length}`);
    await this.#file.truncate(length);
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return this.#file.read(offset, length);
  }

  async close(): Promise<void> {
    await this.#file.close();
  }
}

// ───────────────────────────── firmware slots ─────────────────────────────

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
    if (skip < bytes.length) {
      this.#pristine = false; // even a failed write may have programmed some cells
      try {
        await this.#writer.write(offset + skip, bytes.subarray(skip));
      } catch (error) {
        if (error instanceof HalError && error.code === 'notErased')
          throw new SinkError('rewriteConflict', `slot ${this.slot}: flash at ${offset + skip} was programmed by an earlier session with other bytes`);
        throw error;
      }
    }
    this.#programmedEnd = Math.max(this.#programmedEnd, offset + bytes.length);
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
