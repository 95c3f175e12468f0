/**
 * The fleet simulation (bench/fleet.ts, `npm run fleet`) at a test's size: agents on the mock HAL
 * against the in-process manager; one wake-up on the fleet topic runs every agent's poll, through
 * aedes (MQTT 3.1.1, in this process) and through the mock HAL's broker.
 */
import { describe, expect, it } from 'vitest';
import { runFleet } from '../../bench/fleet.ts';
import { loadBundledFleet } from '../../bench/fleet-bundle.ts';

describe('fleet simulation', () => {
  it('one push wakes every agent (aedes)', async () => {
    const result = await runFleet({ agents: 20, broker: 'aedes', batch: 10 });
    expect(result).toMatchObject({ agents: 20, broker: 'aedes' });
    expect(result.wakeSeconds).toBeGreaterThan(0); // runFleet throws unless every agent ran its pushed poll
  }, 120_000);

  it('one push wakes every agent (mock broker)', async () => {
    const result = await runFleet({ agents: 5, broker: 'mock' });
    expect(result).toMatchObject({ agents: 5, broker: 'mock' });
  }, 120_000);

  it('runs from its bundle too (what npm run fleet and the bench run), with CPU seconds per phase', async () => {
    const bundled = await loadBundledFleet();
    expect(bundled).not.toBe(runFleet);
    const result = await bundled({ agents: 5, broker: 'mock' });
    expect(result).toMatchObject({ agents: 5, broker: 'mock' });
    expect(result.startCpuSeconds).toBeGreaterThan(0);
    expect(result.wakeCpuSeconds).toBeGreaterThan(0);
  }, 120_000);
});
