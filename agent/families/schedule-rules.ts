/**
 * When a scheduled run is due and allowed (./schedule.ts describes the config and state; this is
 * the part only the scheduler's loops, ./scheduler-loop.ts, run).
 */
import type { PowerConditions } from '../../hal/types.ts';
import { backoffDelay } from '../pipeline/backoff.ts';
import type { PollWindow, ScheduleConfig, ScheduleState } from './schedule.ts';

export type ConditionVerdict = { ok: true } | { ok: false; reason: 'networkDown' | 'metered' | 'needsExternalPower' | 'batteryLow' };

export function checkConditions(config: ScheduleConfig, conditions: PowerConditions): ConditionVerdict {
  if (!conditions.networkUp) return { ok: false, reason: 'networkDown' };
  if (conditions.networkMetered && !config.allowMetered) return { ok: false, reason: 'metered' };
  if (config.requireExternalPower && !conditions.externalPower) return { ok: false, reason: 'needsExternalPower' };
  if (!conditions.externalPower && conditions.batteryPercent !== undefined && conditions.batteryPercent < config.minBatteryPercent)
    return { ok: false, reason: 'batteryLow' };
  return { ok: true };
}

const DAY_MS = 24 * 3600_000;
// Its own minute rather than the MINUTE_MS of ./schedule.ts: a value imported from there makes
// that file a shared chunk which every family's config imports (the build inlines the constant,
// leaving an empty module that each cycle still loads, ~0.7 KB of a QuickJS heap).
const MINUTE = 60_000;

/** Milliseconds until the poll window opens (0 inside the window or without one). */
export function windowDelayMs(window: PollWindow | undefined, utcMs: number): number {
  if (!window || window.startMinute === window.endMinute) return 0;
  const sinceMidnight = ((utcMs % DAY_MS) + DAY_MS) % DAY_MS;
  const start = window.startMinute * MINUTE;
  const end = window.endMinute * MINUTE;
  const inside = start < end ? sinceMidnight >= start && sinceMidnight < end : sinceMidnight >= start || sinceMidnight < end;
  if (inside) return 0;
  return (start - sinceMidnight + DAY_MS) % DAY_MS;
}

/** Delay after a failed poll: exponential in the number of consecutive failures, capped. */
export function backoffMs(config: ScheduleConfig, consecutiveFailures: number): number {
  return backoffDelay(Math.max(1, consecutiveFailures), config.backoff);
}

/** When the first poll after boot is due. */
export function firstPollUtc(config: ScheduleConfig, state: ScheduleState, nowUtcMs: number): number {
  if (config.onBoot || state.nextPollUtcMs === undefined) return nowUtcMs;
  // A wall clock that jumped backwards must not postpone polling by more than one interval.
  return Math.min(state.nextPollUtcMs, nowUtcMs + config.intervalMs + config.jitterMs);
}

/**
 * The state after a poll attempt: on success the next poll is what the manager asked for
 * (if it did) or the interval plus jitter; on failure the backoff (never later than the regular interval).
 */
export function afterPoll(
  config: ScheduleConfig,
  state: ScheduleState,
  outcome: { ok: true; nextPollMs?: number } | { ok: false },
  nowUtcMs: number,
  random01: number,
): ScheduleState {
  if (outcome.ok) {
    const delay = outcome.nextPollMs ?? config.intervalMs + Math.floor(random01 * config.jitterMs);
    return { consecutiveFailures: 0, lastAttemptUtcMs: nowUtcMs, lastSuccessUtcMs: nowUtcMs, nextPollUtcMs: nowUtcMs + delay };
  }
  const failures = state.consecutiveFailures + 1;
  const delay = Math.min(backoffMs(config, failures) + Math.floor(random01 * Math.min(config.jitterMs, backoffMs(config, failures))), config.intervalMs + config.jitterMs);
  return { ...state, consecutiveFailures: failures, lastAttemptUtcMs: nowUtcMs, nextPollUtcMs: nowUtcMs + delay };
}
