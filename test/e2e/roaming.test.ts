import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counterFromUtc } from '../../agent/roaming/index.ts';
import { type Rig, api, newRig, nodeAgent, startFleetManager } from './harness.ts';

const HOUR = 3600_000;
let rig: Rig;
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  await rig.cleanup();
});

describe('manager roaming (seed 004) across two reference managers whose clocks disagree', () => {
  it('keeps the reference counter strictly increasing and completes the move, there and back', async () => {
    const m1 = await startFleetManager(rig, { deviceIds: ['roamer'], name: 'm1' });
    const m2 = await startFleetManager(rig, { deviceIds: ['roamer'], name: 'm2', clockOffsetMs: -2 * HOUR });
    const { agent } = await nodeAgent(rig, { deviceId: 'roamer', manager: m1.url, config: { users: ['alice'] } });
    const counters: number[] = [];
    const poll = async () => {
      const summary = await agent.pollOnce();
      counters.push(summary.referenceCounter);
      return summary;
    };

    // Fresh install: the counter comes from the current manager's UTC.
    const before = counterFromUtc(Date.now());
    const first = await poll();
    expect(first.failed).toEqual([]);
    // Within the poll (however long a loaded machine makes it), from m1's UTC.
    expect(first.referenceCounter).toBeGreaterThanOrEqual(before - 1);
    expect(first.referenceCounter).toBeLessThanOrEqual(counterFromUtc(Date.now()) + 1);
    await poll();

    // The operator reassigns the device to m2 (two hours behind).
    await api(m1, 'POST', '/api/devices/roamer/redirect', { url: m2.url });
    const m1Before = (await api<any[]>(m1, 'GET', '/api/devices/roamer/status')).length;
    const redirected = await poll(); // still talks to m1 for the whole cycle, learns the new manager
    expect(redirected.moved).toBe(false);
    expect((await api<any>(m1, 'GET', '/api/targets/roamer')).referenceCounter).toBe(redirected.referenceCounter);
    expect((await api<any[]>(m1, 'GET', '/api/targets')).length).toBe(2);
    expect(m1Before).toBeGreaterThan(0);
    expect(agent.delivery!.managerUrl()).toBe(m2.url);

    const arrival = await poll();
    expect(arrival.manager).toBe(m2.url);
    expect(arrival.moved).toBe(true);
    // m2's UTC would lower the counter: it is ignored and the counter just steps up.
    expect(arrival.referenceCounter).toBe(counters.at(-2)! + 1);
    expect(agent.roaming!.state().previousManagers).toEqual({}); // moves acknowledged

    // The move ran on m2 for both targets: it fetched m1's records (newer than any of its own) and m1 released them.
    const onM2 = await api<any>(m2, 'GET', '/api/targets/roamer');
    expect(onM2.referenceCounter).toBe(arrival.referenceCounter);
    const userOnM2 = await api<any>(m2, 'GET', `/api/targets/${encodeURIComponent('user:alice')}`);
    expect(userOnM2.referenceCounter).toBe(arrival.referenceCounter);
    const onM1 = await api<any>(m1, 'GET', '/api/targets/roamer');
    expect(onM1.movedTo).toBe(m2.url);
    // m2 now knows what is installed on the device: the records came along.
    expect(onM2.packages.map((p: any) => p.name).sort()).toEqual(['base-config', 'diagnostics', 'telemetry', 'ui-fonts']);

    // Nothing is reinstalled after the move: m2 assigns the same packages.
    expect([arrival.installed, arrival.upgraded, arrival.removed]).toEqual([[], [], []]);

    // And back to m1, whose stale record of this device must lose against m2's newer one.
    await api(m2, 'POST', '/api/devices/roamer/redirect', { url: m1.url });
    await poll();
    const back = await poll();
    expect(back.manager).toBe(m1.url);
    expect(back.moved).toBe(true);
    const backOnM1 = await api<any>(m1, 'GET', '/api/targets/roamer');
    expect(backOnM1.referenceCounter).toBe(back.referenceCounter);
    expect(backOnM1.movedTo).toBeUndefined();
    expect((await api<any>(m2, 'GET', '/api/targets/roamer')).movedTo).toBe(m1.url);

    for (let i = 1; i < counters.length; i++) expect(counters[i], `connection ${i}`).toBeGreaterThan(counters[i - 1]!);
    expect(agent.roaming!.state().history.map((h) => [h.from, h.to])).toEqual([
      [m1.url, m2.url],
      [m2.url, m1.url],
    ]);
  });

  it('keeps forwarding the previous manager while it is unreachable, then completes the move', async () => {
    const m1 = await startFleetManager(rig, { deviceIds: ['roamer2'], name: 'm1' });
    const m2 = await startFleetManager(rig, { deviceIds: ['roamer2'], name: 'm2' });
    const { agent } = await nodeAgent(rig, { deviceId: 'roamer2', manager: m1.url });
    await agent.pollOnce();
    await api(m1, 'POST', '/api/devices/roamer2/redirect', { url: m2.url });
    await agent.pollOnce();
    // The old manager cannot hand the record over the first time m2 asks.
    await api(m1, 'POST', '/api/faults', { kind: 'status', path: '/dm/v1/targets/roamer2', code: 503, times: 1 });
    const arrival = await agent.pollOnce();
    expect(arrival.moved).toBe(true);
    expect(agent.roaming!.state().previousManagers).toEqual({ roamer2: m1.url });
    await expect(api(m2, 'GET', '/api/targets/roamer2')).rejects.toThrow(/404/); // m2 keeps nothing half-moved
    const again = await agent.pollOnce();
    expect(again.moved).toBe(false);
    expect(again.referenceCounter).toBeGreaterThan(arrival.referenceCounter);
    expect(agent.roaming!.state().previousManagers).toEqual({});
    const record = await api<any>(m2, 'GET', '/api/targets/roamer2');
    expect(record.referenceCounter).toBe(again.referenceCounter);
    expect(record.movedFrom).toBe(m1.url);
    expect((await api<any>(m1, 'GET', '/api/targets/roamer2')).movedTo).toBe(m2.url);
  });
});
