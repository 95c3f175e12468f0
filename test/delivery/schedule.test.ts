import { describe, expect, it } from 'vitest';
import { type ScheduleConfig, parseWindow } from '../../agent/delivery/schedule.ts';
import { afterPoll, backoffMs, checkConditions, firstPollUtc, windowDelayMs } from '../../agent/families/schedule-rules.ts';
import type { PowerConditions } from '../../hal/types.ts';

const HOUR = 3600_000;
const config: ScheduleConfig = {
  intervalMs: 24 * HOUR,
  jitterMs: 10 * 60_000,
  onBoot: true,
  requireExternalPower: false,
  minBatteryPercent: 20,
  allowMetered: false,
  backoff: { initialMs: 30_000, maxMs: HOUR, factor: 2 },
  conditionRecheckMs: 5 * 60_000,
};
const good: PowerConditions = { externalPower: false, batteryPercent: 80, charging: false, networkUp: true, networkMetered: false };
const midnight = Date.UTC(2026, 10, 22);

describe('poll schedule', () => {
  it.each([
    [{ networkUp: false }, {}, 'networkDown'],
    [{ networkMetered: true }, {}, 'metered'],
    [{}, { requireExternalPower: true }, 'needsExternalPower'],
    [{ batteryPercent: 10 }, {}, 'batteryLow'],
  ] as const)('conditions %j with %j forbid polling (%s)', (conditions, overrides, reason) => {
    expect(checkConditions({ ...config, ...overrides }, { ...good, ...conditions })).toEqual({ ok: false, reason });
  });

  it('allows polling on external power whatever the battery, and on metered networks when allowed', () => {
    expect(checkConditions(config, { ...good, externalPower: true, batteryPercent: 1 })).toEqual({ ok: true });
    expect(checkConditions({ ...config, allowMetered: true }, { ...good, networkMetered: true })).toEqual({ ok: true });
  });

  it('computes the wait until a UTC window opens, also across midnight', () => {
    const night = parseWindow('22:30-04:00')!;
    expect(night).toEqual({ startMinute: 22 * 60 + 30, endMinute: 240 });
    expect(windowDelayMs(night, midnight + 23 * HOUR)).toBe(0);
    expect(windowDelayMs(night, midnight + 3 * HOUR)).toBe(0);
    expect(windowDelayMs(night, midnight + 4 * HOUR)).toBe(18.5 * HOUR);
    const day = parseWindow('09:00-17:00')!;
    expect(windowDelayMs(day, midnight + 8 * HOUR)).toBe(HOUR);
    expect(windowDelayMs(day, midnight + 18 * HOUR)).toBe(15 * HOUR);
    expect(windowDelayMs(undefined, midnight)).toBe(0);
    expect(parseWindow('25:00-01:00')).toBeUndefined();
  });

  it('backs off exponentially with a cap, never later than the regular interval', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(config, n))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(backoffMs(config, 50)).toBe(HOUR);
    let state: import('../../agent/delivery/schedule.ts').ScheduleState = { consecutiveFailures: 0 };
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      state = afterPoll(config, state, { ok: false }, midnight, 0);
      delays.push((state.nextPollUtcMs as number) - midnight);
    }
    expect(delays[0]).toBe(30_000);
    expect(delays.at(-1)).toBe(HOUR);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] as number);
  });

  it('after success uses the manager\'s next poll time, else interval plus jitter, and resets the backoff', () => {
    const failing = afterPoll(config, { consecutiveFailures: 3 }, { ok: false }, midnight, 0);
    const ok = afterPoll(config, failing, { ok: true }, midnight, 0.5);
    expect(ok.consecutiveFailures).toBe(0);
    expect(ok.nextPollUtcMs).toBe(midnight + 24 * HOUR + 5 * 60_000);
    expect(afterPoll(config, failing, { ok: true, nextPollMs: 1000 }, midnight, 0.5).nextPollUtcMs).toBe(midnight + 1000);
  });

  it('polls at boot when configured, else at the persisted time (bounded if the clock went back)', () => {
    expect(firstPollUtc(config, { consecutiveFailures: 0, nextPollUtcMs: midnight + HOUR }, midnight)).toBe(midnight);
    const noBoot = { ...config, onBoot: false };
    expect(firstPollUtc(noBoot, { consecutiveFailures: 0, nextPollUtcMs: midnight + HOUR }, midnight)).toBe(midnight + HOUR);
    expect(firstPollUtc(noBoot, { consecutiveFailures: 0, nextPollUtcMs: midnight + 100 * HOUR }, midnight)).toBe(midnight + 24 * HOUR + 10 * 60_000);
    expect(firstPollUtc(noBoot, { consecutiveFailures: 0 }, midnight)).toBe(midnight);
  });
});
