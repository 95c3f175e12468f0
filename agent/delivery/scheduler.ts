/**
 * The polling loop: waits (through the HAL clock) until the schedule (./schedule.ts) says a poll
 * is due and allowed, runs one cycle, and persists the outcome so a reboot keeps the rhythm —
 * including the failure backoff, which must survive a crash loop.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue } from '../store/index.ts';
import type { Logger } from '../log.ts';
import { sleep } from '../util/sleep.ts';
import { type ScheduleConfig, type ScheduleState, afterPoll, checkConditions, firstPollUtc, windowDelayMs } from './schedule.ts';

export const SCHEDULE_KEY = 'delivery/schedule';

export interface SchedulerOptions {
  device: Device;
  store: KeyValueStore;
  config: ScheduleConfig;
  log: Logger;
  poll: () => Promise<{ nextPollMs?: number }>;
  onFailure?: (error: unknown, retryInMs: number) => void;
  onWait?: (reason: WaitReason, delayMs: number) => void;
}

/** What the loop waits for: the schedule, the manager's wish, a backoff, a condition or the window. */
export type WaitReason = 'boot' | 'interval' | 'manager' | 'backoff' | 'window' | 'networkDown' | 'metered' | 'needsExternalPower' | 'batteryLow';

export function loadScheduleState(store: KeyValueStore): ScheduleState {
  return getValue<ScheduleState>(store, SCHEDULE_KEY) ?? { consecutiveFailures: 0 };
}

/** Polls until `signal` aborts. Never throws for a failed poll: failures back off. */
export async function runScheduler(options: SchedulerOptions, signal: AbortSignalLike): Promise<void> {
  const { device, store, config, log } = options;
  const clock = device.clock;
  const random = () => (device.random.bytes(1)[0] as number) / 256;
  let state = loadScheduleState(store);
  let due = firstPollUtc(config, state, clock.utcMs());
  // Why the next wait happens, for whoever watches the loop (the demo, tests, a UI).
  let reason: WaitReason = due > clock.utcMs() ? 'interval' : 'boot';
  while (!signal.aborted) {
    const wait = due - clock.utcMs();
    if (wait > 0) {
      options.onWait?.(reason, wait);
      await sleep(clock, wait, signal).catch(() => undefined);
      continue; // re-evaluate: the wall clock may have jumped while we waited
    }
    const verdict = checkConditions(config, await device.power.conditions());
    if (!verdict.ok) {
      log.info('poll postponed by device conditions', { reason: verdict.reason });
      due = clock.utcMs() + config.conditionRecheckMs;
      reason = verdict.reason;
      continue;
    }
    const window = windowDelayMs(config.window, clock.utcMs());
    if (window > 0) {
      due = clock.utcMs() + window;
      reason = 'window';
      continue;
    }
    try {
      const result = await options.poll();
      state = afterPoll(config, state, { ok: true, ...(result.nextPollMs !== undefined ? { nextPollMs: result.nextPollMs } : {}) }, clock.utcMs(), random());
      reason = result.nextPollMs !== undefined ? 'manager' : 'interval';
    } catch (error) {
      state = afterPoll(config, state, { ok: false }, clock.utcMs(), random());
      const retryInMs = (state.nextPollUtcMs ?? clock.utcMs()) - clock.utcMs();
      log.warn('poll failed', { error: error instanceof Error ? error.message : String(error), failures: state.consecutiveFailures, retryInMs });
      options.onFailure?.(error, retryInMs);
      reason = 'backoff';
    }
    await putValue(store, SCHEDULE_KEY, state);
    due = state.nextPollUtcMs ?? clock.utcMs() + config.intervalMs;
  }
}
