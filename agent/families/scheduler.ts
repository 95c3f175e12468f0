/**
 * The one scheduler: runs every family's triggers on the HAL clock.
 *  - a `schedule` trigger waits (through the HAL clock) until ./schedule.ts says a run is due and
 *    allowed (device conditions, time window), runs the family, and persists the outcome so a
 *    reboot keeps the rhythm — including the failure backoff, which must survive a crash loop;
 *  - `event` triggers (user sign-in, user activity; boot is the schedule's `onBoot` or an event)
 *    and `wake()` calls (a push message, `agent.trigger()`, a hold asking to be looked at again)
 *    interrupt the wait and run the family at once, without moving its scheduled rhythm.
 * Runs of one family never overlap; families run side by side.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue } from '../store/index.ts';
import { createAbort } from '../util/abort.ts';
import { errorMessage } from '../util/retry.ts';
import { pause } from '../util/sleep.ts';
import type { FamilyInstance, HalEvent, RunReason } from './family.ts';
import { type ScheduleConfig, type ScheduleState, afterPoll, checkConditions, firstPollUtc, windowDelayMs } from './schedule.ts';

/** What a loop waits for: the schedule, the server's wish, a backoff, a condition, the window or a wake-up. */
export type WaitReason = 'boot' | 'interval' | 'manager' | 'backoff' | 'window' | 'networkDown' | 'metered' | 'needsExternalPower' | 'batteryLow' | 'wake' | 'idle';

export interface SchedulerHooks {
  onWait?(family: string, reason: WaitReason, delayMs: number): void;
  onFailure?(family: string, error: unknown, retryInMs: number): void;
}

export function scheduleKey(family: FamilyInstance): string {
  return `${family.prefixes[0]}schedule`;
}

export function loadScheduleState(store: KeyValueStore, key: string): ScheduleState {
  return getValue<ScheduleState>(store, key) ?? { consecutiveFailures: 0 };
}

interface Wake {
  reason: RunReason;
  /** Monotonic time it is due. */
  atMs: number;
}

interface Entry {
  family: FamilyInstance;
  schedule: ScheduleConfig | undefined;
  wakes: Wake[];
  /** Interrupts the current wait when a wake-up arrives. */
  interrupt: (() => void) | undefined;
}

export class Scheduler {
  readonly #device: Device;
  readonly #store: KeyValueStore;
  readonly #log: Logger;
  readonly #hooks: SchedulerHooks;
  readonly #entries = new Map<string, Entry>();
  #running = false;

  constructor(options: { device: Device; store: KeyValueStore; log: Logger; hooks?: SchedulerHooks }) {
    this.#device = options.device;
    this.#store = options.store;
    this.#log = options.log;
    this.#hooks = options.hooks ?? {};
  }

  add(family: FamilyInstance): void {
    const schedule = family.triggers.find((t) => t.kind === 'schedule');
    this.#entries.set(family.name, { family, schedule: schedule?.kind === 'schedule' ? schedule.schedule : undefined, wakes: [], interrupt: undefined });
  }

  get running(): boolean {
    return this.#running;
  }

  /** Runs `family` after `delayMs` (default now), interrupting its wait. False when no loop runs. */
  wake(family: string, reason: RunReason, delayMs = 0): boolean {
    const entry = this.#entries.get(family);
    if (!entry || !this.#running) return false;
    entry.wakes.push({ reason, atMs: this.#device.clock.monotonicMs() + Math.max(0, delayMs) });
    entry.interrupt?.();
    return true;
  }

  /** Runs every family's loop until `signal` aborts. Never throws for a failed run: failures back off. */
  async run(signal: AbortSignalLike): Promise<void> {
    this.#running = true;
    const unsubscribe = this.#subscribe();
    try {
      await Promise.all([...this.#entries.values()].map((entry) => this.#loop(entry, signal)));
    } finally {
      for (const off of unsubscribe) off();
      for (const entry of this.#entries.values()) entry.wakes = [];
      this.#running = false;
    }
  }

  /** HAL events → wake-ups of the families that listen to them. */
  #subscribe(): (() => void)[] {
    const listeners = (event: HalEvent) => [...this.#entries.values()].filter((e) => e.family.triggers.some((t) => t.kind === 'event' && t.event === event));
    const off: (() => void)[] = [];
    if (listeners('activity').length > 0) off.push(this.#device.power.onActivity(() => listeners('activity').forEach((e) => this.wake(e.family.name, 'activity'))));
    const users = this.#device.users;
    if (users && listeners('signIn').length > 0) off.push(users.onSignIn(() => listeners('signIn').forEach((e) => this.wake(e.family.name, 'signIn'))));
    for (const entry of listeners('boot')) if (!entry.schedule?.onBoot) this.wake(entry.family.name, 'boot');
    return off;
  }

  async #loop(entry: Entry, signal: AbortSignalLike): Promise<void> {
    const { family, schedule: config } = entry;
    const clock = this.#device.clock;
    const key = scheduleKey(family);
    const random = () => (this.#device.random.bytes(1)[0] as number) / 256;
    let state = loadScheduleState(this.#store, key);
    let due = config ? firstPollUtc(config, state, clock.utcMs()) : Infinity;
    let reason: WaitReason = due > clock.utcMs() ? 'interval' : 'boot';
    while (!signal.aborted) {
      const wake = this.#takeWake(entry);
      if (wake) {
        await this.#runWoken(family, wake.reason);
        continue;
      }
      const wait = Math.min(due - clock.utcMs(), this.#nextWakeMs(entry));
      if (wait > 0) {
        const nextWake = this.#nextWakeMs(entry);
        if (Number.isFinite(wait)) this.#hooks.onWait?.(family.name, nextWake <= due - clock.utcMs() ? 'wake' : reason, wait);
        await this.#wait(entry, wait, signal);
        continue; // re-evaluate: a wake-up may have arrived, the wall clock may have jumped
      }
      if (!config) continue;
      const verdict = checkConditions(config, await this.#device.power.conditions());
      if (!verdict.ok) {
        this.#log.info('run postponed by device conditions', { family: family.name, reason: verdict.reason });
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
        this.#log.warn('run failed', { family: family.name, error: errorMessage(error), failures: state.consecutiveFailures, retryInMs });
        this.#hooks.onFailure?.(family.name, error, retryInMs);
        reason = 'backoff';
      }
      await putValue(this.#store, key, state);
      due = state.nextPollUtcMs ?? clock.utcMs() + config.intervalMs;
    }
  }

  async #runWoken(family: FamilyInstance, reason: RunReason): Promise<void> {
    try {
      await family.run(reason);
    } catch (error) {
      this.#log.warn('run failed', { family: family.name, reason, error: errorMessage(error) });
      this.#hooks.onFailure?.(family.name, error, 0);
    }
  }

  #takeWake(entry: Entry): Wake | undefined {
    const now = this.#device.clock.monotonicMs();
    const index = entry.wakes.findIndex((w) => w.atMs <= now);
    if (index < 0) return undefined;
    const [wake] = entry.wakes.splice(index, 1);
    // Several wake-ups for the same reason due at once are one run (a burst of touches).
    entry.wakes = entry.wakes.filter((w) => w.atMs > now || w.reason !== wake?.reason);
    return wake;
  }

  #nextWakeMs(entry: Entry): number {
    const now = this.#device.clock.monotonicMs();
    return entry.wakes.reduce((min, w) => Math.min(min, w.atMs - now), Infinity);
  }

  /** Sleeps on the HAL clock until `ms` passed, `signal` aborts or a wake-up arrives. */
  async #wait(entry: Entry, ms: number, signal: AbortSignalLike): Promise<void> {
    const local = createAbort();
    const off = signal.onAbort((why) => local.abort(why));
    entry.interrupt = () => local.abort('wake');
    try {
      if (Number.isFinite(ms)) await pause(this.#device.clock, ms, local.signal);
      // Nothing scheduled: only a wake-up or the stop ends this wait.
      else await new Promise<void>((resolve) => local.signal.onAbort(() => resolve()));
    } finally {
      entry.interrupt = undefined;
      off();
    }
  }
}
