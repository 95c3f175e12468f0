/**
 * The one scheduler (agent/families/scheduler.ts) with a bare family: HAL events (boot, sign-in,
 * user activity) and wake-ups with a delay run it on the virtual clock, runs never overlap, and a
 * family without a schedule sleeps until something wakes it.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { FamilyInstance, RunReason } from '../../agent/families/family.ts';
import { Scheduler } from '../../agent/families/scheduler.ts';
import { KeyValueStore } from '../../agent/store/index.ts';
import { createAbort } from '../../agent/util/abort.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';

const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8'));
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function settle(hardware: MockHardware): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await hardware.clock.advance(0);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('scheduler', () => {
  it('runs a family on its HAL events and on delayed wake-ups, one run at a time', async () => {
    const hardware = new MockHardware({ ...mockOptionsFromBoard(sim) });
    const device = hardware.boot();
    await hardware.booted;
    const store = await KeyValueStore.open(await device.flash.open({ partition: 'state' }));
    const runs: RunReason[] = [];
    let running = 0;
    let overlapped = false;
    const scheduler = new Scheduler({ device, store, log: silent });
    const family: FamilyInstance = {
      name: 'bare',
      prefixes: ['bare/'],
      triggers: [
        { kind: 'event', event: 'boot' },
        { kind: 'event', event: 'signIn' },
        { kind: 'event', event: 'activity' },
      ],
      boot: async () => ({ pending: 0, setAside: 0 }),
      async run(reason) {
        overlapped ||= running > 0;
        running++;
        runs.push(reason);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return {};
      },
      status: () => ({ name: 'bare', jobs: { active: 0, setAside: 0 }, outbox: 0, details: {} }),
    };
    scheduler.add(family);
    expect(scheduler.wake('bare', 'manual')).toBe(false); // not running: the caller runs it itself
    const stop = createAbort();
    const loop = scheduler.run(stop.signal);
    await settle(hardware);
    expect(runs).toEqual(['boot']);
    hardware.signIn('alice', 'pw');
    hardware.activity();
    await settle(hardware);
    expect(runs).toEqual(['boot', 'signIn', 'activity']);
    expect(scheduler.wake('bare', 'recheck', 60_000)).toBe(true);
    await hardware.clock.advance(59_000);
    await settle(hardware);
    expect(runs).toHaveLength(3);
    await hardware.clock.advance(1_000);
    await settle(hardware);
    expect(runs.at(-1)).toBe('recheck');
    expect(overlapped).toBe(false);
    stop.abort('done');
    await loop;
    await store.close();
  });
});
