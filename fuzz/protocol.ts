/** What the fuzz runner's main thread and its workers exchange. */
import type { Counts, Finding } from './engine.ts';

/** Layout of the shared slot holding the running input: int32 header, start time, bytes. */
export const SLOT = {
  headerInts: 16,
  state: 0, // 1 while an input runs
  index: 1,
  length: 2, // the input's full length (the bytes may be cut to the slot's capacity)
  counts: 4, // COUNT_KEYS.length int32 counters of the inputs finished so far
  timeOffset: 64,
  dataOffset: 72,
} as const;

/** Inputs longer than this are saved cut to it when they hang the worker. */
export const SLOT_CAPACITY = 16 * 1024 * 1024;

export interface WorkerJob {
  name: string;
  file: string;
  seed: number;
  from: number;
  count: number;
  progressEvery: number;
  /** Replay these inputs instead of generating (index = position in the list). */
  replay?: Uint8Array[];
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'finding'; finding: Finding }
  | { type: 'progress'; counts: Counts }
  | { type: 'done'; counts: Counts }
  | { type: 'fatal'; message: string };
