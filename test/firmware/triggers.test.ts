/**
 * When the firmware family checks (seed 002: at boot, at user sign-in, every 24 hours by default),
 * on the one scheduler and the virtual clock: no real time passes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MINUTE, type UpdateWorld, settle, updateWorld } from './rig.ts';

let world: UpdateWorld | undefined;
afterEach(async () => {
  await world?.cleanup();
  world = undefined;
});

describe('firmware family triggers', () => {
  it('checks at boot, at sign-in and every 24 h; a sign-in does not move the 24 h rhythm', async () => {
    world = await updateWorld({ approve: false });
    const phone = await world.phone('phone-t');
    const run = phone.agent.run();
    await settle(world.clock);
    expect(world.checks('phone-t')).toBe(1); // boot

    await world.clock.advance(3 * HOUR);
    await settle(world.clock);
    expect(world.checks('phone-t')).toBe(1);
    phone.hardware.signIn('alice', 'correct horse battery staple');
    await settle(world.clock);
    expect(world.checks('phone-t')).toBe(2); // sign-in
    expect(phone.agent.firmware!.last.reason).toBe('signIn');

    await world.clock.advance(21 * HOUR - MINUTE);
    await settle(world.clock);
    expect(world.checks('phone-t')).toBe(2);
    await world.clock.advance(2 * MINUTE);
    await settle(world.clock);
    expect(world.checks('phone-t')).toBe(3); // 24 h after the boot check
    await world.clock.advance(24 * HOUR);
    await settle(world.clock);
    expect(world.checks('phone-t')).toBe(4);
    phone.agent.stop();
    await run;
    await phone.agent.close();
  });

  it('the interval is configurable', async () => {
    world = await updateWorld({ approve: false });
    const phone = await world.phone('phone-i', { config: { firmware: { schedule: { intervalMs: 6 * HOUR, jitterMs: 0 } } } });
    const run = phone.agent.run();
    await settle(world.clock);
    await world.clock.advance(6 * HOUR + 1000);
    await settle(world.clock);
    await world.clock.advance(6 * HOUR);
    await settle(world.clock);
    expect(world.checks('phone-i')).toBe(3);
    phone.agent.stop();
    await run;
    await phone.agent.close();
  });

  it('agent.trigger runs the family at once, while the scheduler runs or not', async () => {
    world = await updateWorld({ approve: false });
    const phone = await world.phone('phone-m');
    await phone.agent.trigger('firmware');
    expect(world.checks('phone-m')).toBe(1);
    const run = phone.agent.run();
    await settle(world.clock);
    expect(world.checks('phone-m')).toBe(2); // boot
    await phone.agent.trigger('firmware', 'push');
    await settle(world.clock);
    expect(world.checks('phone-m')).toBe(3);
    await expect(phone.agent.trigger('nosuch')).rejects.toThrow(/no nosuch section/);
    phone.agent.stop();
    await run;
    await phone.agent.close();
  });
});
