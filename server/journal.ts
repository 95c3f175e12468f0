/**
 * Optional persistence (`dataDir`): one JSON-lines file of everything the manager learns or is
 * told (status reports, inventories, target records, enrolments, admin changes), replayed at
 * start. Append-only and line-oriented so a person can `tail -f` it and a crash loses at most the
 * line being written (a torn last line is skipped on replay).
 */
import { appendFile } from 'node:fs/promises';
import { mkdirSync, readFileSync } from 'node:fs';
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

/** One JSON-lines file; the entry type is the owning server's (`E`), the manager's by default. */
export class Journal<E = JournalEntry> {
  readonly file: string;
  #tail: Promise<void> = Promise.resolve();
  readonly #log: (line: string) => void;

  private constructor(file: string, log: (line: string) => void) {
    this.file = file;
    this.#log = log;
  }

  /** Creates the directory if needed and reads what an earlier run wrote (synchronously: start-up only). */
  static open<E = JournalEntry>(dir: string, log: (line: string) => void, fileName = JOURNAL_FILE): { journal: Journal<E>; entries: E[] } {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, fileName);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const entries: E[] = [];
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        entries.push(JSON.parse(line, jsonReviver) as E);
      } catch {
        log(`journal ${file}:${index + 1}: unreadable line skipped`);
      }
    });
    return { journal: new Journal<E>(file, log), entries };
  }

  /** Queued in order; a failed write is logged, never thrown into a protocol answer. */
  append(entry: E): void {
    const line = `${JSON.stringify(entry, jsonReplacer)}\n`;
    this.#tail = this.#tail.then(() => appendFile(this.file, line)).catch((error: unknown) => this.#log(`journal ${this.file}: write failed: ${(error as Error).message}`));
  }

  /** Resolves once every append so far is on disk (or has failed and been logged). */
  flush(): Promise<void> {
    return this.#tail;
  }
}
