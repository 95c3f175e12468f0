/**
 * The scheduler's loops (./scheduler.ts `run()` imports this chunk): one per family, waiting on the
 * HAL clock for its schedule, a wake-up or a HAL event, and persisting each run's outcome.
 */
import type { AbortSignalLike } from '../../hal/types.ts';
import { getValue, putValue } from '../store/index.ts';
import { errorMessage } from '../util/retry.ts';
import { createAbort, pause } from '../util/sleep.ts';
import type { HalEvent, RunReason } from './family.ts';
import type { ScheduleState } from './schedule.ts';
import { afterPoll, checkConditions, firstPollUtc, windowDelayMs } from './schedule-rules.ts';
import type { Entry, Scheduler, Wake, WaitReason } from './scheduler.ts';

/** Every family's loop until `signal` aborts; HAL events wake the families that listen to them meanwhile. */
export async function runLoops(scheduler: Scheduler, signal: AbortSignalLike): Promise<void> {
  const unsubscribe = subscribe(scheduler);
  try {
    await Promise.all([...scheduler.entries.values()].map((entry) => loop(scheduler, entry, signal)));
  } finally {
    for (const off of unsubscribe) off();
  }
}

/** HAL events → wake-ups of the families that listen to them. */
function subscribe(scheduler: Scheduler): (() => void)[] {
  const { device } = scheduler.options;
  const listeners = (event: HalEvent) => [...scheduler.entries.values()].filter((e) => e.family.triggers.some((t) => t.kind === 'event' && t.event === event));
  const wakeAll = (event: HalEvent & RunReason) => () => listeners(event).forEach((e) => scheduler.wake(e.family.name, event));
  const off: (() => void)[] = [];
  if (listeners('activity').length > 0) off.push(device.power.onActivity(wakeAll('activity')));
  const users = device.users;
  if (users && listeners('signIn').length > 0) off.push(users.onSignIn(wakeAll('signIn')));
  for (const entry of listeners('boot')) if (!entry.schedule?.onBoot) scheduler.wake(entry.family.name, 'boot');
  return off;
}

async function loop(scheduler: Scheduler, entry: Entry, signal: AbortSignalLike): Promise<void> {
  const { device, store, log, emit } = scheduler.options;
  const failed = (error: unknown, retryInMs: number) => emit?.(family.name, { kind: 'cycleFailed', error: error instanceof Error ? error.message : String(error), retryInMs });
  const { family, schedule: config } = entry;
  const clock = device.clock;
  const key = `${family.prefixes[0]}schedule`;
  const random = () => (device.random.bytes(1)[0] as number) / 256;
  let state = getValue<ScheduleState>(store, key) ?? { consecutiveFailures: 0 };
  let due = config ? firstPollUtc(config, state, clock.utcMs()) : Infinity;
  let reason: WaitReason = due > clock.utcMs() ? 'interval' : 'boot';
  while (!signal.aborted) {
    const wake = takeWake(entry, clock.monotonicMs());
    if (wake) {
      try {
        await family.run(wake.reason);
      } catch (error) {
        log.warn('run failed', { family: family.name, reason: wake.reason, error: errorMessage(error) });
        failed(error, 0);
      }
      continue;
    }
    const nextWake = entry.wakes.reduce((min, w) => Math.min(min, w.atMs - clock.monotonicMs()), Infinity);
    const wait = Math.min(due - clock.utcMs(), nextWake);
    if (wait > 0) {
      if (Number.isFinite(wait)) emit?.(family.name, { kind: 'waiting', reason: nextWake <= due - clock.utcMs() ? 'wake' : reason, delayMs: wait });
      await sleepUnlessWoken(scheduler, entry, wait, signal);
      continue; // re-evaluate: a wake-up may have arrived, the wall clock may have jumped
    }
    if (!config) continue;
    const verdict = checkConditions(config, await device.power.conditions());
    if (!verdict.ok) {
      log.info('run postponed by device conditions', { family: family.name, reason: verdict.reason });
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
      const result = await family.run(reason === 'boot' ? 'boot' : 'schedule');
      state = afterPoll(config, state, { ok: true, ...(result.nextRunMs !== undefined ? { nextPollMs: result.nextRunMs } : {}) }, clock.utcMs(), random());
      reason = result.nextRunMs !== undefined ? 'manager' : 'interval';
    } catch (error) {
      state = afterPoll(config, state, { ok: false }, clock.utcMs(), random());
      const retryInMs = (state.nextPollUtcMs ?? clock.utcMs()) - clock.utcMs();
      log.warn('run failed', { family: family.name, error: errorMessage(error), failures: state.consecutiveFailures, retryInMs });
      failed(error, retryInMs);
      reason = 'backoff';
    }
    await putValue(store, key, state);
    due = state.nextPollUtcMs ?? clock.utcMs() + config.intervalMs;
  }
}

/** The first wake-up due at `now`, taken off the queue with the others of its reason due then too. */
function takeWake(entry: Entry, now: number): Wake | undefined {
  const index = entry.wakes.findIndex((w) => w.atMs <= now);
  if (index < 0) return undefined;
  const [wake] = entry.wakes.splice(index, 1);
  // Several wake-ups for the same reason due at once are one run (a burst of touches).
  entry.wakes = entry.wakes.filter((w) => w.atMs > now || w.reason !== wake?.reason);
  return wake;
}

/** Sleeps on the HAL clock until `ms` passed, `signal` aborts or a wake-up arrives. */
async function sleepUnlessWoken(scheduler: Scheduler, entry: Entry, ms: number, signal: AbortSignalLike): Promise<void> {
  const local = createAbort();
  const off = signal.onAbort((why) => local.abort(why));
  entry.interrupt = () => local.abort('wake');
  try {
    if (Number.isFinite(ms)) await pause(scheduler.options.device.clock, ms, local.signal);
    // Nothing scheduled: only a wake-up or the stop ends this wait.
    else await new Promise<void>((resolve) => local.signal.onAbort(() => resolve()));
  } finally {
    entry.interrupt = undefined;
    off();
  }
}
