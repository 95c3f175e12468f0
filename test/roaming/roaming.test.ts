import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROAMING_KEY, RoamingTracker, counterFromUtc, nextReferenceCounter } from '../../agent/roaming/index.ts';
import { putValue } from '../../agent/store/index.ts';
import { newMedium } from '../store/workload.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

describe('reference counter (seed 004)', () => {
  it('starts from the current manager UTC on a fresh install', () => {
    expect(nextReferenceCounter(undefined, T0)).toBe(counterFromUtc(T0));
  });
  it('follows a manager UTC that moves it up', () => {
    expect(nextReferenceCounter(counterFromUtc(T0), T0 + 60_000)).toBe(counterFromUtc(T0) + 60);
  });
  it('ignores a manager UTC that would lower it and increments instead', () => {
    expect(nextReferenceCounter(counterFromUtc(T0), T0 - 2 * HOUR)).toBe(counterFromUtc(T0) + 1);
    expect(nextReferenceCounter(counterFromUtc(T0), T0)).toBe(counterFromUtc(T0) + 1);
  });
  it('is strictly increasing for any sequence of manager clocks', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4e12 }), { minLength: 1, maxLength: 200 }), (clocks) => {
        let previous: number | undefined;
        for (const utc of clocks) {
          const next = nextReferenceCounter(previous, utc);
          if (previous !== undefined) expect(next).toBeGreaterThan(previous);
          expect(next).toBeGreaterThanOrEqual(counterFromUtc(utc));
          previous = next;
        }
      }),
    );
  });
});

describe('RoamingTracker', () => {
  const targets = [
    { id: 'dev-1', kind: 'device' as const },
    { id: 'user:alice', kind: 'user' as const },
  ];

  it('hands out one frozen state per store revision, and a fresh one after any write to the store', async () => {
    const store = await newMedium().open();
    const tracker = new RoamingTracker(store);
    await tracker.onConnection({ address: 'http://m1.test', utcMs: T0 }, targets);
    const state = tracker.state();
    expect(tracker.state()).toBe(state); // no decode per call
    expect(Object.isFrozen(state) && Object.isFrozen(state.previousManagers) && Object.isFrozen(state.history)).toBe(true);
    expect(() => {
      (state as { connections: number }).connections = 99;
    }).toThrow(TypeError);
    // A write by anyone else (a restore, another module) is seen at the next call.
    await putValue(store, ROAMING_KEY, { ...state, managerAddress: 'http://m9.test', connections: 7 });
    expect(tracker.state()).toMatchObject({ managerAddress: 'http://m9.test', connections: 7 });
    await store.put('unrelated', new Uint8Array([1]));
    expect(tracker.state().connections).toBe(7);
  });

  it('remembers the previous manager per target when the address changes, until the move is acknowledged', async () => {
    const medium = newMedium();
    const tracker = new RoamingTracker(await medium.open());
    const first = await tracker.onConnection({ address: 'http://m1.test', utcMs: T0 }, targets);
    expect(first).toEqual({ referenceCounter: counterFromUtc(T0), moved: false });
    expect(tracker.pendingMoves(targets).every((t) => t.previousManager === undefined)).toBe(true);

    // Manager 2's clock is two hours behind.
    const second = await tracker.onConnection({ address: 'http://m2.test', utcMs: T0 - 2 * HOUR }, targets);
    expect(second).toEqual({ referenceCounter: counterFromUtc(T0) + 1, moved: true, previousAddress: 'http://m1.test' });
    expect(tracker.pendingMoves(targets)).toEqual([
      { id: 'dev-1', kind: 'device', previousManager: 'http://m1.test' },
      { id: 'user:alice', kind: 'user', previousManager: 'http://m1.test' },
    ]);

    // Survives a reboot.
    const reopened = new RoamingTracker(await medium.open());
    expect(reopened.state().referenceCounter).toBe(counterFromUtc(T0) + 1);
    expect(reopened.pendingMoves(targets)[1]?.previousManager).toBe('http://m1.test');

    // The device target moved, the user profile's old manager was unreachable: keep forwarding that one.
    await reopened.acknowledge([
      { target: 'dev-1', from: 'http://m1.test', result: 'moved' },
      { target: 'user:alice', from: 'http://m1.test', result: 'unreachable' },
    ]);
    expect(reopened.pendingMoves(targets)).toEqual([
      { id: 'dev-1', kind: 'device' },
      { id: 'user:alice', kind: 'user', previousManager: 'http://m1.test' },
    ]);
    const third = await reopened.onConnection({ address: 'http://m2.test', utcMs: T0 - 2 * HOUR + 60_000 }, targets);
    expect(third.moved).toBe(false);
    expect(third.referenceCounter).toBe(counterFromUtc(T0) + 2);
    expect(reopened.state().history).toEqual([{ from: 'http://m1.test', to: 'http://m2.test', counter: counterFromUtc(T0) + 1 }]);
  });

  it('drops a pending move when the device returns to the manager it was leaving', async () => {
    const tracker = new RoamingTracker(await newMedium().open());
    await tracker.onConnection({ address: 'http://m1.test', utcMs: T0 }, targets);
    await tracker.onConnection({ address: 'http://m2.test', utcMs: T0 + 1000 }, targets);
    await tracker.onConnection({ address: 'http://m1.test', utcMs: T0 + 2000 }, targets);
    // Now m2 is the previous manager for both targets (the latest change), not m1.
    expect(tracker.pendingMoves(targets).map((t) => t.previousManager)).toEqual(['http://m2.test', 'http://m2.test']);
  });

  it('ignores acknowledgements for another previous address', async () => {
    const tracker = new RoamingTracker(await newMedium().open());
    await tracker.onConnection({ address: 'http://m1.test', utcMs: T0 }, targets);
    await tracker.onConnection({ address: 'http://m2.test', utcMs: T0 }, targets);
    await tracker.acknowledge([{ target: 'dev-1', from: 'http://other.test', result: 'moved' }]);
    expect(tracker.pendingMoves(targets)[0]?.previousManager).toBe('http://m1.test');
  });
});
