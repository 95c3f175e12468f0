/**
 * How many jobs a family that plans many (the pull-model family's package list) may create now
 * (./jobs.ts "Bounded", whose DEFAULT_JOB_LIMITS are the defaults). Apart from ./jobs.ts so that the
 * families that run one job at a time do not load it.
 */
import type { KeyValueStore } from '../store/index.ts';

export interface JobLimits {
  /** Jobs of one family in the store at once. */
  maxJobs: number;
  /** Create no job while live store data exceeds this share of the store area (0–1). */
  maxStoreShare: number;
}

/** How many new jobs the family may create now (0: finish the ones it has first). */
export function jobRoom(store: KeyValueStore, jobPrefix: string, limits: JobLimits): number {
  const stats = store.stats();
  if (stats.liveBytes > stats.areaLength * limits.maxStoreShare) return 0;
  return Math.max(0, limits.maxJobs - store.keys(jobPrefix).length);
}
