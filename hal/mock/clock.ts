/**
 * Virtual time for the mock: nothing happens until a test calls `advance(ms)`, which fires due
 * timers in time order (ties in creation order) and lets promise jobs settle after each one, so
 * agent code of the form `await sleep(); await flash.write(); await sleep()` runs exactly as it
 * would in real time, deterministically and instantly. Time survives reboots (it is hardware);
 * timers belong to the `TimerScope` (one per boot) that set them and die with it. Several mock
 * devices and the mock network may share one clock (one virtual timeline).
 */
import { InvalidOptionsError } from '../errors.ts';
import type { Clock, TimerHandle } from '../types.ts';

export interface TimerScope {
  readonly clock: Clock;
  /** Drops every timer this scope set (the boot that owned them is gone). */
  dispose(): void;
}

interface Timer {
  due: number;
  order: number;
  callback: () => void;
}

export class VirtualClock {
  /** UTC of monotonic time 0 (wall clock = startUtcMs + now + utcOffsetMs). */
  readonly startUtcMs: number;
  /** Wall-clock error to simulate (a device with a wrong RTC, an NTP jump). */
  utcOffsetMs = 0;
  #now = 0;
  #order = 0;
  #nextHandle = 1;
  readonly #timers = new Map<TimerHandle, Timer>();

  constructor(startUtcMs = Date.UTC(2025, 0, 1)) {
    if (typeof startUtcMs !== 'number' || !Number.isFinite(startUtcMs)) throw new InvalidOptionsError('VirtualClock: startUtcMs must be a number');
    this.startUtcMs = startUtcMs;
  }

  get now(): number {
    return this.#now;
  }

  utcMs(): number {
    return this.startUtcMs + this.#now + this.utcOffsetMs;
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    if (typeof callback !== 'function') throw new InvalidOptionsError('setTimer: callback must be a function');
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)
      throw new InvalidOptionsError('setTimer: delayMs must be a finite number >= 0');
    const handle = this.#nextHandle++;
    this.#timers.set(handle, { due: this.#now + delayMs, order: this.#order++, callback });
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }


  /**
   * Moves time forward by `ms`, firing each due timer at its due time. A timer callback that
   * throws stops the advance at that time and rejects (an uncaught error on a device).
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new InvalidOptionsError('advance: ms must be a finite number >= 0');
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      const [handle, timer] = next;
      this.#timers.delete(handle);
      this.#now = timer.due;
      timer.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Advances to the next timer (if any) and fires it; returns false when none is pending. */
  async advanceToNextTimer(): Promise<boolean> {
    await settle();
    const next = this.#nextDue(Number.POSITIVE_INFINITY);
    if (!next) return false;
    await this.advance(next[1].due - this.#now);
    return true;
  }

  /** Lets pending promise jobs run without moving time. */
  settle(): Promise<void> {
    return settle();
  }

  /**
   * A `Clock` whose timers can be dropped together (one boot's). `halted` says the CPU is off
   * (power cut): due timers of the scope are then dropped instead of run.
   */
  scope(halted: () => boolean = () => false): TimerScope {
    const handles = new Set<TimerHandle>();
    const clock: Clock = {
      monotonicMs: () => this.#now,
      utcMs: () => this.utcMs(),
      setTimer: (callback, delayMs) => {
        if (typeof callback !== 'function') throw new InvalidOptionsError('setTimer: callback must be a function');
        const handle: TimerHandle = this.setTimer(() => {
          handles.delete(handle);
          if (!halted()) callback();
        }, delayMs);
        handles.add(handle);
        return handle;
      },
      clearTimer: (handle) => {
        if (!handles.delete(handle)) return; // Not ours (or already fired): ignore, per contract.
        this.clearTimer(handle);
      },
    };
    return {
      clock,
      dispose: () => {
        for (const handle of handles) this.clearTimer(handle);
        handles.clear();
      },
    };
  }

  #nextDue(limit: number): [TimerHandle, Timer] | undefined {
    let best: [TimerHandle, Timer] | undefined;
    for (const entry of this.#timers) {
      const timer = entry[1];
      if (timer.due > limit) continue;
      if (!best || timer.due < best[1].due || (timer.due === best[1].due && timer.order < best[1].order)) best = entry;
    }
    return best;
  }
}

/**
 * Drains promise jobs. One macrotask turn runs every queued microtask (and the microtasks they
 * queue); two turns also cover work the host defers by one turn (stream/event plumbing). Where
 * the runtime has no macrotask queue (bare QuickJS), many microtask turns approximate it.
 */
async function settle(): Promise<void> {
  const host = globalThis as { setImmediate?: (callback: () => void) => unknown; setTimeout?: (callback: () => void, ms: number) => unknown };
  const turn: (() => Promise<void>) | undefined = host.setImmediate
    ? () => new Promise<void>((resolve) => host.setImmediate?.(resolve))
    : host.setTimeout
      ? () => new Promise<void>((resolve) => host.setTimeout?.(resolve, 0))
      : undefined;
  if (turn) {
    await turn();
    await turn();
    return;
  }
  for (let i = 0; i < 1000; i++) await Promise.resolve();
}
