/**
 * Optional persistence (`dataDir`): one JSON-lines file of everything the manager learns or is
 * told (status reports, inventories, target records, enrolments, admin changes), replayed at
 * start. Line-oriented so a person can `tail -f` it and a crash loses at most the line being
 * written (a torn last line is skipped on replay).
 *
 * Bounded: the file is read back in chunks, line by line (never as one string: a journal of
 * hundreds of MiB once stopped the manager from starting), a line longer than `MAX_LINE_BYTES` is
 * skipped, and once the file passes `maxBytes` it is compacted: rewritten as a snapshot of the
 * manager's current state (which is itself bounded per device), into a temporary file that is
 * synced and then renamed over the journal, so a crash leaves either the old or the new file.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { appendFile, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { InventoryReport, StatusReport } from '../agent/delivery/messages.ts';
import type { DeviceAssignment } from './fleet.ts';
import type { StoredRecord } from './records.ts';
import { jsonReplacer, jsonReviver } from './wire.ts';

export type JournalEntry =
  | { type: 'enrol'; deviceId: string; group: string; utcMs: number }
  | { type: 'status'; utcMs: number; report: StatusReport }
  | { type: 'report'; utcMs: number; report: InventoryReport }
  | { type: 'record'; record: StoredRecord }
  | { type: 'assign'; deviceId: string; packages: DeviceAssignment[] }
  | { type: 'redirect'; deviceId: string; url: string | null };

export const JOURNAL_FILE = 'manager.jsonl';
/** Default size at which the journal is compacted. */
export const DEFAULT_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;
/** A longer line is skipped on replay: the largest request body (8 MiB) as base64 JSON is well below. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
const WRITE_BATCH = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface JournalOptions {
  log: (line: string) => void;
  /** Compact once the file is larger than this (default 64 MiB). */
  maxBytes?: number;
  /** File name inside the directory (default `manager.jsonl`; the update service uses its own). */
  fileName?: string;
}

/** One JSON-lines file; the entry type is the owning server's (`E`), the manager's by default. */
export class Journal<E = JournalEntry> {
  readonly file: string;
  readonly maxBytes: number;
  #tail: Promise<void> = Promise.resolve();
  readonly #log: (line: string) => void;
  /** Bytes in the file once every queued write has landed. */
  #bytes: number;
  #snapshotBytes = 0;
  #snapshot: (() => E[]) | undefined;
  #compactions = 0;
  #compactionPending = false;

  private constructor(file: string, bytes: number, options: JournalOptions) {
    this.file = file;
    this.#bytes = bytes;
    this.#log = options.log;
    this.maxBytes = options.maxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
  }

  /** Creates the directory if needed (start-up only, synchronous). */
  static open<E = JournalEntry>(dir: string, options: JournalOptions): Journal<E> {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, options.fileName ?? JOURNAL_FILE);
    let bytes = 0;
    try {
      const fd = openSync(file, 'r');
      bytes = fstatSync(fd).size;
      closeSync(fd);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new Journal<E>(file, bytes, options);
  }

  /** Hands every readable entry of an earlier run to `apply`, in order, reading the file chunk by chunk. */
  replay(apply: (entry: E) => void): void {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let lineNumber = 0;
    const onLine = (bytes: Uint8Array | undefined): void => {
      lineNumber++;
      if (bytes === undefined) {
        this.#log(`journal ${this.file}:${lineNumber}: line longer than ${MAX_LINE_BYTES} bytes skipped`);
        return;
      }
      if (bytes.every((byte) => byte === 0x20 || byte === 0x0d || byte === 0x09)) return;
      let entry: E;
      try {
        entry = JSON.parse(utf8.decode(bytes), jsonReviver) as E;
      } catch {
        this.#log(`journal ${this.file}:${lineNumber}: unreadable line skipped`);
        return;
      }
      apply(entry);
    };
    try {
      readLines(fd, onLine);
    } finally {
      closeSync(fd);
    }
  }

  /** What a compaction writes: the manager's current state as entries. Without it, the journal is never compacted. */
  setSnapshot(snapshot: () => E[]): void {
    this.#snapshot = snapshot;
  }

  /** Queued in order; a failed write is logged, never thrown into a protocol answer. */
  append(entry: E): void {
    const line = `${JSON.stringify(entry, jsonReplacer)}\n`;
    this.#bytes += Buffer.byteLength(line);
    this.#queue(() => appendFile(this.file, line), 'write');
    // After the current synchronous change is complete (callers journal a change before or after
    // applying it): the snapshot must hold every change queued so far, and only those.
    if (!this.#compactionPending) {
      this.#compactionPending = true;
      queueMicrotask(() => {
        this.#compactionPending = false;
        this.compactIfDue();
      });
    }
  }

  /**
   * Compacts when the file has grown past `maxBytes` (and past twice the last snapshot, so a
   * state that is itself large does not compact on every line). The snapshot is taken now,
   * synchronously, so it holds exactly the changes queued so far; the rewrite is queued behind them,
   * and lines appended later land in the rewritten file.
   */
  compactIfDue(): void {
    if (!this.#snapshot || this.#bytes <= Math.max(this.maxBytes, 2 * this.#snapshotBytes)) return;
    const lines = this.#snapshot().map((entry) => `${JSON.stringify(entry, jsonReplacer)}\n`);
    const size = lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
    this.#bytes = size;
    this.#snapshotBytes = size;
    this.#compactions++;
    this.#queue(() => this.#rewrite(lines), 'compaction');
  }

  /** Compactions so far in this run. */
  get compactions(): number {
    return this.#compactions;
  }

  /** Resolves once every append so far is on disk (or has failed and been logged). */
  flush(): Promise<void> {
    return this.#tail;
  }

  #queue(step: () => Promise<void>, what: string): void {
    this.#tail = this.#tail.then(step).catch((error: unknown) => this.#log(`journal ${this.file}: ${what} failed: ${(error as Error).message}`));
  }

  async #rewrite(lines: string[]): Promise<void> {
    const temporary = `${this.file}.compact`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      let batch = '';
      for (const line of lines) {
        batch += line;
        if (batch.length >= WRITE_BATCH) {
          await handle.write(batch);
          batch = '';
        }
      }
      if (batch !== '') await handle.write(batch);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.file);
  }
}

/** Calls `onLine` with each line's bytes (without the newline), or undefined for a line over MAX_LINE_BYTES. */
function readLines(fd: number, onLine: (bytes: Uint8Array | undefined) => void): void {
  const chunk = Buffer.allocUnsafe(READ_CHUNK);
  let parts: Buffer[] = [];
  let pending = 0;
  let oversized = false;
  const endLine = (): void => {
    onLine(oversized ? undefined : Buffer.concat(parts, pending));
    parts = [];
    pending = 0;
    oversized = false;
  };
  for (;;) {
    const read = readSync(fd, chunk, 0, READ_CHUNK, null);
    if (read === 0) break;
    let start = 0;
    while (start < read) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 || newline >= read ? read : newline;
      if (!oversized) {
        pending += end - start;
        if (pending > MAX_LINE_BYTES) {
          oversized = true;
          parts = [];
        } else if (end > start) parts.push(Buffer.from(chunk.subarray(start, end)));
      }
      if (end === read) break;
      endLine();
      start = end + 1;
    }
  }
  if (pending > 0 || oversized) endLine();
}
