/**
 * The seam itself: one agent runs both families on one scheduler, each family validates its own
 * config section, and families cannot claim each other's store keys.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../agent/config.ts';
import type { DeliveryEvent } from '../../agent/index.ts';
import { checkPrefixes } from '../../agent/families/registry.ts';
import { mockWorld } from '../e2e/mock-rig.ts';
import { mount, testService } from '../server/updates-fixture.ts';

describe('the family seam', () => {
  it('one agent, both families, one scheduler: each runs at boot', async () => {
    const world = await mockWorld({ deviceIds: ['dev-both'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: [{ name: 'app', version: '1.0.0', size: 4096 }] });
    try {
      const service = await testService();
      mount(world.network, service);
      const events: DeliveryEvent[] = [];
      const hardware = world.hardware('dev-both');
      const agent = await world.agent(hardware, { firmware: { service: service.serviceUrls(), allowInsecure: true, schedule: { jitterMs: 0 } } }, events);
      expect([...agent.families.keys()]).toEqual(['delivery', 'firmware']);
      const run = agent.run();
      for (let spin = 0; spin < 500 && !(events.some((e) => e.kind === 'cycleEnd') && service.journal().some((e) => e.type === 'check')); spin++) {
        await hardware.clock.advance(0);
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(events.some((e) => e.kind === 'cycleEnd')).toBe(true);
      expect(service.journal().filter((e) => e.type === 'check')).toHaveLength(1);
      expect(agent.info().families.map((f) => f.name)).toEqual(['delivery', 'firmware']);
      agent.stop();
      await run;
      await agent.close();
    } finally {
      await world.cleanup();
    }
  });

  it('each family validates its own section with readable paths', () => {
    expect(() => parseConfig({ firmware: { idleRebootMs: -1 } })).toThrow(/firmware\.idleRebootMs/);
    expect(() => parseConfig({ firmware: { colour: 'blue' } })).toThrow(/firmware/);
    expect(() => parseConfig({ delivery: { manager: 'ftp://x' } })).toThrow(/delivery\.manager/);
    expect(() => parseConfig({ omadm: {} })).toThrow(/omadm/);
    expect(parseConfig({ trust: { allowUnsigned: true }, firmware: {} }).firmware).toMatchObject({ idleRebootMs: 300_000, schedule: { intervalMs: 86_400_000, onBoot: true } });
  });

  it('two families may not own overlapping store prefixes', () => {
    const family = (name: string, prefixes: string[]) => ({ name, prefixes, triggers: [], boot: async () => ({ pending: 0, setAside: 0 }), run: async () => ({}), status: () => ({ name, jobs: { active: 0, setAside: 0 }, outbox: 0, details: {} }) });
    expect(() => checkPrefixes([family('a', ['a/']), family('b', ['b/'])])).not.toThrow();
    expect(() => checkPrefixes([family('a', ['job/']), family('b', ['job/b/'])])).toThrow(/both claim/);
  });
});
