/**
 * Setting aside a job record the agent cannot read (./jobs.ts): kept under `setAside/` with the
 * reason and its first bytes for diagnosis, bounded, and deleted from the family's prefix in one
 * atomic batch. A lazy chunk: a boot whose records all read never loads it.
 */
import type { Logger } from '../log.ts';
import { type KeyValueStore, type StoreOp, deleteOp, putOp } from '../store/index.ts';

export const SET_ASIDE_PREFIX = 'setAside/';
/** Records kept set aside for diagnosis; older ones are dropped first. */
const MAX_SET_ASIDE = 8;
/** Bytes of a set-aside record kept for diagnosis. */
const MAX_SET_ASIDE_BYTES = 512;

export interface SetAsideRecord {
  family: string;
  key: string;
  reason: string;
  utcMs: number;
  /** The first bytes of the record as found. */
  head: Uint8Array;
}

/** Moves a record out of the family's way in one atomic batch (set aside + delete), bounded. */
export async function setAsideRecord(store: KeyValueStore, entry: Omit<SetAsideRecord, 'head'>, log: Logger): Promise<void> {
  const raw = store.get(entry.key) ?? new Uint8Array();
  const existing = store.keys(SET_ASIDE_PREFIX);
  const ops: StoreOp[] = existing.slice(0, Math.max(0, existing.length - MAX_SET_ASIDE + 1)).map((key) => deleteOp(key));
  const record: SetAsideRecord = { ...entry, head: raw.slice(0, MAX_SET_ASIDE_BYTES) };
  ops.push(putOp(`${SET_ASIDE_PREFIX}${String(entry.utcMs).padStart(15, '0')}/${entry.key}`, record), deleteOp(entry.key));
  await store.batch(ops);
  log.error('job record set aside: the agent cannot read it', { family: entry.family, key: entry.key, reason: entry.reason });
}
