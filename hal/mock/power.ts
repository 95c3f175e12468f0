/**
 * Scripted power and user-activity state for the mock. Tests mutate `conditions`, call
 * `activity()` to simulate user input, and see reboot requests in `rebootRequests`; the harness
 * (not the agent) decides when the reboot happens by calling `MockHardware.reboot()`.
 */
import { InvalidOptionsError } from '../errors.ts';
import type { Power, PowerConditions, RebootOptions } from '../types.ts';
import { defaultConditions } from '../shared/conditions.ts';
import { requireObject, requireString } from '../shared/validate.ts';
import type { VirtualClock } from './clock.ts';

export type LastBoot = { cause: 'requested' | 'powerOn' | 'unknown'; reason?: string };

export interface RebootRequest {
  reason: string;
  utcMs: number;
  monotonicMs: number;
}

/** Persistent power/activity state of the mock hardware. */
export class MockPowerState {
  conditions: PowerConditions;
  readonly rebootRequests: RebootRequest[] = [];
  lastBoot: LastBoot = { cause: 'powerOn' };
  /** Requests since the current boot started (decides the cause of the next reboot). */
  requestedThisBoot: RebootRequest | undefined;
  #lastActivityMs: number;
  #listeners = new Set<() => void>();
  readonly #clock: VirtualClock;

  constructor(clock: VirtualClock, conditions: Partial<PowerConditions>) {
    this.#clock = clock;
    this.conditions = { ...defaultConditions(), ...conditions };
    this.#lastActivityMs = clock.now;
  }

  /** Simulated user input: resets idle time and tells the running boot's listeners. */
  activity(): void {
    this.#lastActivityMs = this.#clock.now;
    for (const listener of [...this.#listeners]) listener();
  }

  /** A new boot: listeners of the old one are gone. */
  resetListeners(): void {
    this.#listeners = new Set();
  }

  facet(): Power {
    const listeners = this.#listeners;
    return {
      conditions: async () => ({ ...this.conditions }),
      idleMs: () => this.#clock.now - this.#lastActivityMs,
      onActivity: (listener) => {
        if (typeof listener !== 'function') throw new InvalidOptionsError('onActivity: listener must be a function');
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
      requestReboot: async (options: RebootOptions) => {
        const o = requireObject(options, 'requestReboot');
        const reason = requireString(o.reason, 'requestReboot: reason');
        const request = { reason, utcMs: this.#clock.utcMs(), monotonicMs: this.#clock.now };
        this.rebootRequests.push(request);
        this.requestedThisBoot = request;
      },
      lastBoot: async () => ({ ...this.lastBoot }),
    };
  }
}
