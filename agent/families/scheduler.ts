/**
 * The one scheduler: runs every family's triggers on the HAL clock.
 *  - a `schedule` trigger waits (through the HAL clock) until ./schedule.ts says a run is due and
 *    allowed (device conditions, time window), runs the family, and persists the outcome so a
 *    reboot keeps the rhythm — including the failure backoff, which must survive a crash loop;
 *  - `event` triggers (user sign-in, user activity; boot is the schedule's `onBoot` or an event)
 *    and `wake()` calls (a push message, `agent.trigger()`, a hold asking to be looked at again)
 *    interrupt the wait and run the family at once, without moving its scheduled rhythm.
 * Runs of one family never overlap; families run side by side.
 *
 * This is the part every agent holds (the families' entries and `wake`). The loops themselves
 * (./scheduler-loop.ts, with ./schedule.ts) are a chunk `run()` imports: a host that drives the
 * agent by `trigger()`/`pollOnce()` only (the QuickJS guest) never holds their code.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import type { KeyValueStore } from '../store/index.ts';
import type { FamilyInstance, RunReason } from './family.ts';
import type { ScheduleConfig } from './schedule.ts';

/** What a loop waits for: the schedule, the server's wish, a backoff, a condition, the window or a wake-up. */
export type WaitReason = 'boot' | 'interval' | 'manager' | 'backoff' | 'window' | 'networkDown' | 'metered' | 'needsExternalPower' | 'batteryLow' | 'wake' | 'idle';

/** What a loop tells the agent's listeners: it waits (`waiting`), or a run failed (`cycleFailed`, retried in `retryInMs`). */
export type SchedulerEvent = { kind: 'waiting'; reason: WaitReason; delayMs: number } | { kind: 'cycleFailed'; error: string; retryInMs: number };

export interface SchedulerOptions {
  device: Device;
  store: KeyValueStore;
  log: Logger;
  /** One callback for both events (the loops, a chunk, build them: the core holds no hook closures). */
  emit?(family: string, event: SchedulerEvent): void;
}

export interface Wake {
  reason: RunReason;
  /** Monotonic time it is due. */
  atMs: number;
}

export interface Entry {
  family: FamilyInstance;
  schedule: ScheduleConfig | undefined;
  wakes: Wake[];
  /** Interrupts the current wait when a wake-up arrives. */
  interrupt: (() => void) | undefined;
}

export class Scheduler {
  // Plain fields set in the constructor (not #private, not class fields): the loop chunk reads them.
  /** @internal */ declare readonly options: SchedulerOptions;
  /** @internal */ declare readonly entries: Map<string, Entry>;
  declare running: boolean;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.entries = new Map();
    this.running = false;
  }

  add(family: FamilyInstance): void {
    const schedule = family.triggers.find((t) => t.kind === 'schedule');
    this.entries.set(family.name, { family, schedule: schedule?.kind === 'schedule' ? schedule.schedule : undefined, wakes: [], interrupt: undefined });
  }

  /** Runs `family` after `delayMs` (default now), interrupting its wait. False when no loop runs. */
  wake(family: string, reason: RunReason, delayMs = 0): boolean {
    const entry = this.entries.get(family);
    if (!entry || !this.running) return false;
    entry.wakes.push({ reason, atMs: this.options.device.clock.monotonicMs() + Math.max(0, delayMs) });
    entry.interrupt?.();
    return true;
  }

  /** Runs every family's loop until `signal` aborts. Never throws for a failed run: failures back off. */
  async run(signal: AbortSignalLike): Promise<void> {
    this.running = true; // wake-ups from now on are queued (the loops take them once loaded)
    try {
      await (await import('./scheduler-loop.ts')).runLoops(this, signal);
    } finally {
      for (const entry of this.entries.values()) entry.wakes = [];
      this.running = false;
    }
  }
}
