/**
 * The polling loop on the mock HAL's virtual clock: when polls happen, what postpones them, how
 * failures back off, and that the rhythm survives a reboot. Virtual time only moves when the agent
 * says it sleeps (a `waiting` event), and then exactly as far as the test chooses, so the outcome
 * does not depend on how fast this machine is (the in-process manager still reads files for real).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent, DeliveryEvent } from '../../agent/index.ts';
import type { MockHardware } from '../../hal/mock/index.ts';
import { type MockWorld, mockWorld } from './mock-rig.ts';

const CATALOGUE = [{ name: 'app', version: '1.0.0', size: 4096 }];
const SECOND = 1000;
const MINUTE = 60 * SECOND;

let world: MockWorld;
afterEach(async () => {
  await world?.cleanup();
});

type Waiting = Extract<DeliveryEvent, { kind: 'waiting' }>;

class Loop {
  readonly events: DeliveryEvent[] = [];
  agent!: Agent;
  done!: Promise<void>;
  #seen = 0;
  constructor(readonly hardware: MockHardware) {}

  async start(schedule: Record<string, unknown>): Promise<this> {
    this.agent = await world.agent(this.hardware, { delivery: { schedule: { jitterMs: 0, ...schedule } } }, this.events);
    this.done = this.agent.run();
    return this;
  }

  /** The next time the loop goes to sleep (waits in real time, bounded, for the agent to get there). */
  async nextWait(): Promise<Waiting> {
    for (let spin = 0; spin < 2000; spin++) {
      const waits = this.events.filter((e): e is Waiting => e.kind === 'waiting');
      if (waits.length > this.#seen) return waits[this.#seen++] as Waiting;
      await this.hardware.clock.advance(0);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error(`the loop did not go to sleep; events: ${this.events.map((e) => e.kind).join(', ')}`);
  }

  /** Sleeps through the wait the loop announced (or part of it) and returns the next announced wait. */
  async sleep(ms: number): Promise<Waiting> {
    await this.hardware.clock.advance(ms);
    return this.nextWait();
  }

  count(kind: DeliveryEvent['kind']): number {
    return this.events.filter((e) => e.kind === kind).length;
  }

  async stop(): Promise<void> {
    this.agent.stop();
    await this.done;
    await this.agent.close();
  }
}

describe('poll scheduling on a virtual clock', () => {
  it('polls at boot and then every interval; a metered network or a low battery postpones, until rechecked', async () => {
    world = await mockWorld({ deviceIds: ['sched-1'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: CATALOGUE });
    const hardware = world.hardware('sched-1');
    const loop = await new Loop(hardware).start({ intervalMs: 10 * MINUTE, conditionRecheckMs: MINUTE });
    expect(await loop.nextWait()).toMatchObject({ reason: 'interval', delayMs: 10 * MINUTE });
    expect(loop.count('cycleEnd')).toBe(1); // at boot

    expect(await loop.sleep(10 * MINUTE)).toMatchObject({ reason: 'interval', delayMs: 10 * MINUTE });
    expect(loop.count('cycleEnd')).toBe(2);

    hardware.conditions = { ...hardware.conditions, networkMetered: true };
    expect(await loop.sleep(10 * MINUTE)).toMatchObject({ reason: 'metered', delayMs: MINUTE });
    expect(await loop.sleep(MINUTE)).toMatchObject({ reason: 'metered', delayMs: MINUTE });
    expect(loop.count('cycleEnd')).toBe(2);
    hardware.conditions = { ...hardware.conditions, networkMetered: false };
    expect(await loop.sleep(MINUTE)).toMatchObject({ reason: 'interval', delayMs: 10 * MINUTE });
    expect(loop.count('cycleEnd')).toBe(3);

    hardware.conditions = { ...hardware.conditions, externalPower: false, batteryPercent: 5 };
    expect(await loop.sleep(10 * MINUTE)).toMatchObject({ reason: 'batteryLow', delayMs: MINUTE });
    hardware.conditions = { ...hardware.conditions, batteryPercent: 90 };
    expect(await loop.sleep(MINUTE)).toMatchObject({ reason: 'interval' });
    expect(loop.count('cycleEnd')).toBe(4);

    hardware.conditions = { ...hardware.conditions, networkUp: false };
    expect(await loop.sleep(10 * MINUTE)).toMatchObject({ reason: 'networkDown' });
    expect(loop.count('cycleStart')).toBe(4); // not even attempted while the link is down
    await loop.stop();
  }, 60_000);

  it('waits for the UTC poll window', async () => {
    world = await mockWorld({ deviceIds: ['sched-w'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: CATALOGUE });
    const hardware = world.hardware('sched-w');
    const startUtc = hardware.boot().clock.utcMs();
    const minuteOfDay = Math.floor((startUtc % (24 * 3600_000)) / MINUTE);
    const open = (minuteOfDay + 90) % 1440; // the window opens 90 minutes from now, for one hour
    const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const loop = await new Loop(hardware).start({ intervalMs: 10 * MINUTE, window: `${hhmm(open)}-${hhmm((open + 60) % 1440)}` });
    const first = await loop.nextWait();
    expect(first.reason).toBe('window');
    expect(Math.abs(first.delayMs - 90 * MINUTE)).toBeLessThan(MINUTE);
    expect(loop.count('cycleStart')).toBe(0);
    expect(await loop.sleep(first.delayMs)).toMatchObject({ reason: 'interval' });
    expect(loop.count('cycleEnd')).toBe(1);
    await loop.stop();
  }, 60_000);

  it('backs off exponentially, capped, while the manager fails; then returns to the interval', async () => {
    world = await mockWorld({ deviceIds: ['sched-2'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: CATALOGUE });
    const hardware = world.hardware('sched-2');
    world.network.fault({ url: '/dm/v1/identify', kind: 'status', status: 503, times: 4 });
    const loop = await new Loop(hardware).start({ intervalMs: 10 * MINUTE, backoffInitialMs: 10 * SECOND, backoffMaxMs: 40 * SECOND });
    const delays: number[] = [];
    let wait = await loop.nextWait();
    while (wait.reason === 'backoff') {
      delays.push(wait.delayMs);
      wait = await loop.sleep(wait.delayMs);
    }
    expect(delays).toEqual([10 * SECOND, 20 * SECOND, 40 * SECOND, 40 * SECOND]);
    expect(wait).toMatchObject({ reason: 'interval', delayMs: 10 * MINUTE });
    expect(loop.count('cycleFailed')).toBe(4);
    expect(loop.count('cycleEnd')).toBe(1);
    await loop.stop();
  }, 60_000);

  it('follows the manager\'s next-poll time and keeps the rhythm across a reboot', async () => {
    world = await mockWorld({
      deviceIds: ['sched-3'],
      assignment: [{ name: 'app', version: '1.0.0' }],
      catalogue: CATALOGUE,
      mutate: (fleet) => {
        fleet.devices['sched-3'].nextPollMs = 3 * MINUTE;
      },
    });
    const hardware = world.hardware('sched-3');
    const first = await new Loop(hardware).start({ intervalMs: 60 * MINUTE, onBoot: false });
    // Nothing stored yet: the first poll is now; then the manager's 3 minutes, not the 60-minute interval.
    expect(await first.nextWait()).toMatchObject({ reason: 'manager', delayMs: 3 * MINUTE });
    expect(await first.sleep(3 * MINUTE)).toMatchObject({ reason: 'manager', delayMs: 3 * MINUTE });
    expect(first.count('cycleEnd')).toBe(2);
    await hardware.clock.advance(MINUTE);
    await first.stop();

    // A reboot one minute into the wait: with onBoot false, the stored schedule says two more minutes.
    hardware.reboot();
    await hardware.booted;
    const second = await new Loop(hardware).start({ intervalMs: 60 * MINUTE, onBoot: false });
    expect(await second.nextWait()).toMatchObject({ reason: 'interval', delayMs: 2 * MINUTE });
    expect(second.count('cycleStart')).toBe(0);
    expect(await second.sleep(2 * MINUTE)).toMatchObject({ reason: 'manager', delayMs: 3 * MINUTE });
    expect(second.count('cycleEnd')).toBe(1);
    await second.stop();
  }, 60_000);
});
