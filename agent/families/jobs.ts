/**
 * Jobs belong to a family and live under its job prefix. Two rules keep them from hurting the
 * agent as a whole:
 *  - **Bounded**: a family creates jobs lazily from its plan, a few at a time (`jobRoom`, ./job-limits.ts): never
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
import type { JobLimits } from './job-limits.ts';
import { errorMessage } from '../util/retry.ts';

export const DEFAULT_JOB_LIMITS: JobLimits = { maxJobs: 8, maxStoreShare: 0.6 };

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
