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
import type { Staging, StagingFile } from '../../hal/types.ts';

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
