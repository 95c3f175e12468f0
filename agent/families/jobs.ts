/**
 * Jobs belong to a family and live under its job prefix. Two rules keep them from hurting the
 * agent as a whole:
 *  - **Bounded**: a family creates jobs lazily from its plan, a few at a time (`jobRoom`): never
 *    more than `maxJobs` at once, and none while the store's live data is past `maxStoreShare`
 *    of its area. A long package list no longer fills the store with jobs and locks the agent
 *    up; the rest of the plan waits for the next batch or the next poll.
 *  - **Never fatal**: a record the agent cannot read (another table, a newer version, an unknown
 *    state, undecodable bytes) is set aside under `setAside/` with the reason, logged and counted
 *    in the family's status, and boot carries on. Tables have a version and a migration hook
 *    (../machine/table.ts) for the records an update can still read.
 */
import type { Logger } from '../log.ts';
import type { KeyValueStore } from '../store/index.ts';
import { errorMessage } from '../util/retry.ts';

export interface JobLimits {
  /** Jobs of one family in the store at once. */
  maxJobs: number;
  /** Create no job while live store data exceeds this share of the store area (0–1). */
  maxStoreShare: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxJobs: 8, maxStoreShare: 0.6 };

/** How many new jobs the family may create now (0: finish the ones it has first). */
export function jobRoom(store: KeyValueStore, jobPrefix: string, limits: JobLimits): number {
  const stats = store.stats();
  if (stats.liveBytes > stats.areaLength * limits.maxStoreShare) return 0;
  return Math.max(0, limits.maxJobs - store.keys(jobPrefix).length);
}

/**
 * Opens each job record under `jobPrefix` with `open` (which throws when the record cannot be
 * read); unreadable records are set aside. Returns the readable keys.
 */
export async function readableJobs(options: {
  store: KeyValueStore;
  family: string;
  jobPrefix: string;
  log: Logger;
  utcMs: number;
  open: (key: string) => unknown;
}): Promise<{ keys: string[]; setAside: number }> {
  const { store, jobPrefix } = options;
  const keys: string[] = [];
  let setAside = 0;
  for (const key of store.keys(jobPrefix)) {
    try {
      options.open(key);
      keys.push(key);
    } catch (error) {
      await setAsideRecord(store, { family: options.family, key, reason: errorMessage(error), utcMs: options.utcMs }, options.log);
      setAside++;
    }
  }
  return { keys, setAside };
}

/**
 * Moves a record out of the family's way (./set-aside.ts, a lazy chunk: only a record the agent
 * cannot read loads it).
 */
export async function setAsideRecord(...args: Parameters<typeof import('./set-aside.ts').setAsideRecord>): Promise<void> {
  return (await import('./set-aside.ts')).setAsideRecord(...args);
}
