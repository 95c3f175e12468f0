import { describe, expect, it } from 'vitest';
import { PowerCutError } from '../../hal/errors.ts';
import { apply, makeWorkload, newMedium, runStep, snapshot, type Step } from './workload.ts';

const WORKLOAD = makeWorkload(0x5eed, 160);

/** Runs the workload until the power fails; returns the committed state and the step in flight. */
async function runUntilCut(open: () => Promise<import('../../agent/store/index.ts').KeyValueStore>, steps: Step[]) {
  let committed = new Map<string, string>();
  const store = await open();
  for (const step of steps) {
    try {
      await runStep(store, step);
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw error;
      return { committed, inFlight: apply(committed, step), cut: true };
    }
    committed = apply(committed, step);
  }
  return { committed, inFlight: committed, cut: false };
}

describe('store survives a power cut at every write and erase', () => {
  it('counts the workload and checks the clean run', async () => {
    const medium = newMedium();
    const result = await runUntilCut(medium.open, WORKLOAD);
    expect(result.cut).toBe(false);
    const reopened = await medium.open();
    expect(snapshot(reopened)).toEqual(result.committed);
    expect(reopened.stats().generation).toBeGreaterThan(5); // the small areas force many compactions
    expect(medium.power.operations).toBeGreaterThan(300);
  });

  it.each([0.5, 1, 0])('at every cut point (landing %s of the interrupted write): opens without corruption, holds the last committed state or the one in flight, and keeps working', async (landFraction) => {
    const clean = newMedium();
    await runUntilCut(clean.open, WORKLOAD);
    const total = clean.power.operations;
    let exercised = 0;
    let tornTails = 0;
    let inFlightLanded = 0;
    for (let n = 1; n <= total; n++) {
      const medium = newMedium();
      medium.power.landFraction = landFraction;
      medium.power.cutAfter(n);
      const result = await runUntilCut(medium.open, WORKLOAD);
      expect(result.cut, `cut point ${n} must interrupt the workload`).toBe(true);
      medium.power.restore();

      const store = await medium.open();
      expect(store.report.corruption, `cut point ${n}`).toEqual([]);
      const state = snapshot(store);
      const isCommitted = equalMaps(state, result.committed);
      const isInFlight = equalMaps(state, result.inFlight);
      expect(isCommitted || isInFlight, `cut point ${n}: state is neither the committed nor the in-flight one`).toBe(true);
      if (!isCommitted) inFlightLanded++;
      if (store.report.tornTail) tornTails++;

      // The recovered store must accept writes and keep them across another reboot.
      await store.put('after-recovery', Uint8Array.of(n & 0xff, n >> 8));
      const again = await medium.open();
      expect(again.report.corruption).toEqual([]);
      expect(snapshot(again)).toEqual(new Map([...state, ['after-recovery', snapshot(store).get('after-recovery') as string]]));
      exercised++;
    }
    console.log(`store power-cut test (landing ${landFraction}): ${exercised} of ${total} write/erase cut points exercised (${tornTails} torn tails, ${inFlightLanded} in-flight batches already durable)`);
    expect(exercised).toBe(total);
  }, 300_000);

  it('survives a second power cut during recovery (double fault) at every point of the recovery', async () => {
    const clean = newMedium();
    await runUntilCut(clean.open, WORKLOAD);
    const total = clean.power.operations;
    let exercised = 0;
    // Every 7th first cut point, then every write/erase of the recovery write.
    for (let first = 1; first <= total; first += 7) {
      for (let second = 1; ; second++) {
        const medium = newMedium();
        medium.power.cutAfter(first);
        const result = await runUntilCut(medium.open, WORKLOAD);
        medium.power.restore();
        const store = await medium.open();
        const before = snapshot(store);
        medium.power.cutAfter(second);
        let cutAgain = false;
        try {
          await store.put('recovery', Uint8Array.of(1, 2, 3));
        } catch (error) {
          if (!(error instanceof PowerCutError)) throw error;
          cutAgain = true;
        }
        medium.power.cancel();
        medium.power.restore();
        const after = await medium.open();
        expect(after.report.corruption).toEqual([]);
        const state = snapshot(after);
        const withRecovery = new Map([...before, ['recovery', '010203']]);
        expect(equalMaps(state, before) || equalMaps(state, withRecovery), `cuts ${first}/${second}`).toBe(true);
        expect(equalMaps(before, result.committed) || equalMaps(before, result.inFlight)).toBe(true);
        exercised++;
        if (!cutAgain) break;
      }
    }
    console.log(`store double-fault test: ${exercised} (first, second) cut pairs exercised`);
    expect(exercised).toBeGreaterThan(total / 7);
  }, 300_000);
});

function equalMaps(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
