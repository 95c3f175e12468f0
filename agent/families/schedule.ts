/**
 * When a family's scheduled trigger fires (seed 000: "the user or administrator controls the
 * frequency and the conditions of the polling"; seeds 002/003: every 24 hours). Pure functions
 * over the config, the persisted schedule state, the device conditions and the time: the one
 * scheduler (./scheduler.ts) only waits for what they return, which keeps every rule testable
 * without a clock. The config section every family shares is ./schedule-config.ts (loaded with the
 * family's config, not by every board).
 *
 * Times that must survive a reboot are wall-clock UTC (the monotonic clock restarts at boot).
 *
 * The rules themselves are ./schedule-rules.ts, not re-exported here: only the scheduler's loops
 * (a chunk) run them, while every family's config (./schedule-config.ts) needs this file's types
 * and MINUTE_MS, and a re-export would put the rules' code in every board's heap.
 */

export interface PollWindow {
  /** Minutes after midnight UTC when polling may start, 0–1439. */
  startMinute: number;
  /** Minutes after midnight UTC when the window closes; smaller than start = window spans midnight. */
  endMinute: number;
}

export interface ScheduleConfig {
  intervalMs: number;
  /** Uniform random spread added to every interval, so a fleet does not poll in lockstep. */
  jitterMs: number;
  /** Poll right after boot instead of waiting for the interval. */
  onBoot: boolean;
  requireExternalPower: boolean;
  /** Poll on battery only above this charge (ignored on external power). */
  minBatteryPercent: number;
  allowMetered: boolean;
  window?: PollWindow;
  backoff: { initialMs: number; maxMs: number; factor: number };
  /** How long to wait before looking at the conditions again when they forbid a poll. */
  conditionRecheckMs: number;
}

export interface ScheduleState {
  /** UTC of the next poll; undefined before the first one. */
  nextPollUtcMs?: number;
  consecutiveFailures: number;
  lastAttemptUtcMs?: number;
  lastSuccessUtcMs?: number;
}

export const MINUTE_MS = 60_000;
