/**
 * The shared HAL suites against the mock HAL, plus what only the mock has: virtual time, power
 * cuts in the bootloader and the boot-control block, scripted exec, the staging loss model and
 * the `MockHardware` options.
 */
import { describe, expect, it } from 'vitest';
import { utf8Decode, utf8Encode } from '../agent/util/bytes.ts';
import { InvalidOptionsError, PowerCutError, UpdateError } from '../hal/errors.ts';
import { MockHardware, type MockHardwareOptions, VirtualClock } from '../hal/mock/index.ts';
import type { Device } from '../hal/types.ts';
import { STAGING_CAPACITY } from './shared/hal/fixture.ts';
import { expectFailure, pattern, sha256Hex, writeInChunks } from './shared/hal/helpers.ts';
import { describeHalSuites } from './shared/hal/index.ts';
import { fromBoard, hardwareOptions, mockFixture, mockLayout } from './shared/hal/mock-fixture.ts';

describeHalSuites(mockFixture);

describe('MockHardware', () => {
  const boot = (extra: Partial<MockHardwareOptions> = {}): { hw: MockHardware; device: Device } => {
    const hw = new MockHardware(hardwareOptions(extra));
    return { hw, device: hw.boot() };
  };

  it('advance fires timers at their due time and settles promise chains between them', async () => {
    const { hw, device } = boot();
    const seen: string[] = [];
    // Agent-like code: sleep, do async work, sleep again.
    const sleep = (ms: number) => new Promise<void>((resolve) => device.clock.setTimer(resolve, ms));
    const agent = (async () => {
      await sleep(100);
      seen.push(`woke ${device.clock.monotonicMs()}`);
      const file = await device.staging.open({ name: 'a.bin' });
      await file.write(0, utf8Encode('x'));
      await sleep(50);
      seen.push(`again ${device.clock.monotonicMs()}`);
    })();
    await hw.clock.advance(99);
    expect(seen).toEqual([]);
    await hw.clock.advance(51);
    expect(seen).toEqual(['woke 100', 'again 150']);
    await agent;
    expect(hw.now).toBe(150);
  });

  it('same-time timers fire in creation order; a throwing callback rejects advance', async () => {
    const { hw, device } = boot();
    const order: number[] = [];
    for (const n of [1, 2, 3]) device.clock.setTimer(() => order.push(n), 10);
    device.clock.setTimer(() => {
      throw new Error('boom');
    }, 20);
    await expect(hw.clock.advance(30)).rejects.toThrow('boom');
    expect(order).toEqual([1, 2, 3]);
    expect(hw.now).toBe(20);
  });

  it('utcOffsetMs simulates a wrong wall clock without touching monotonic time', () => {
    const { hw, device } = boot({ startUtcMs: Date.UTC(2030, 0, 1) });
    expect(device.clock.utcMs()).toBe(Date.UTC(2030, 0, 1));
    hw.utcOffsetMs = -86_400_000;
    expect(device.clock.utcMs()).toBe(Date.UTC(2029, 11, 31));
    expect(device.clock.monotonicMs()).toBe(0);
  });

  it('devices can share one virtual timeline', async () => {
    const clock = new VirtualClock();
    const one = new MockHardware(hardwareOptions({ clock }));
    const two = new MockHardware(hardwareOptions({ clock, identity: { deviceId: 'two' } }));
    const fired: string[] = [];
    one.boot().clock.setTimer(() => fired.push('one'), 20);
    two.boot().clock.setTimer(() => fired.push('two'), 10);
    await clock.advance(25);
    expect(fired).toEqual(['two', 'one']);
  });

  it('timers of a boot die with it; a power cut stops them firing', async () => {
    const { hw, device } = boot();
    let fired = 0;
    device.clock.setTimer(() => fired++, 10);
    hw.power.cutAfter(1);
    const file = await device.staging.open({ name: 'x.bin' });
    await expect(file.write(0, utf8Encode('x'))).rejects.toBeInstanceOf(PowerCutError);
    await hw.clock.advance(20);
    expect(fired).toBe(0);
    expect(() => hw.boot()).toThrow(PowerCutError);
    const next = hw.reboot();
    expect(next).not.toBe(device);
    expect(hw.lastBoot).toEqual({ cause: 'powerOn' });
  });

  it('records reboot requests and the cause of the next boot', async () => {
    const { hw, device } = boot();
    await device.power.requestReboot({ reason: 'install 2.0' });
    expect(hw.rebootRequests.map((r) => r.reason)).toEqual(['install 2.0']);
    const next = hw.reboot();
    expect(await next.power.lastBoot()).toEqual({ cause: 'requested', reason: 'install 2.0' });
    expect(hw.boots).toBe(2);
  });

  it('conditions are scriptable and activity notifies only the running boot', async () => {
    const { hw, device } = boot({ conditions: { externalPower: false, batteryPercent: 40 } });
    expect(await device.power.conditions()).toMatchObject({ externalPower: false, batteryPercent: 40, networkUp: true });
    hw.conditions.networkMetered = true;
    expect((await device.power.conditions()).networkMetered).toBe(true);
    let oldHeard = 0;
    device.power.onActivity(() => oldHeard++);
    const next = hw.reboot();
    let newHeard = 0;
    next.power.onActivity(() => newHeard++);
    hw.activity();
    expect([oldHeard, newHeard]).toEqual([0, 1]);
  });

  it('exec is scripted, logged, and times out on virtual time', async () => {
    const { hw, device } = boot();
    hw.onExec('slow', () => new Promise((resolve) => device.clock.setTimer(() => resolve({ exitCode: 0, output: 'late' }), 5000)));
    const run = device.exec.run({ command: 'slow', args: ['--x'], timeoutMs: 1000 });
    await hw.clock.advance(1000);
    const result = await run;
    expect(result).toMatchObject({ timedOut: true, durationMs: 1000 });
    expect(result.exitCode).toBeUndefined();
    expect(hw.execLog).toHaveLength(1);
    expect(hw.execLog[0]?.options).toMatchObject({ command: 'slow', args: ['--x'], timeoutMs: 1000 });
    expect(hw.execLog[0]?.result).toEqual(result);
  });

  it('the staging loss model keeps synced bytes and half of the unsynced operations', async () => {
    const { hw, device } = boot();
    const file = await device.staging.open({ name: 'model.bin' });
    await file.write(0, utf8Encode('AAAA'));
    await file.sync();
    await file.write(4, utf8Encode('BBBB'));
    await file.write(8, utf8Encode('CCCC'));
    await file.write(12, utf8Encode('DDDD'));
    await file.write(16, utf8Encode('EEEE'));
    const next = hw.reboot(); // pulled plug: no request
    const again = await next.staging.open({ name: 'model.bin', create: false });
    // 4 unsynced writes: 2 land, the third is torn in half, the last is gone.
    expect(utf8Decode(await again.read(0, 100))).toBe('AAAABBBBCCCCDD');
  });

  it('a requested reboot flushes staging like a clean unmount', async () => {
    const { hw, device } = boot();
    const file = await device.staging.open({ name: 'clean.bin' });
    await file.write(0, utf8Encode('unsynced'));
    await device.power.requestReboot({ reason: 'test' });
    const next = hw.reboot();
    const again = await next.staging.open({ name: 'clean.bin', create: false });
    expect(utf8Decode(await again.read(0, 100))).toBe('unsynced');
  });

  it('a torn boot-control copy falls back to the other copy', async () => {
    const { hw, device } = boot();
    const image = pattern(5000, 1);
    const writer = await device.update.openInactive({ size: image.length, version: '2.0.0' });
    await writeInChunks(writer, image);
    await writer.complete({ sha256: sha256Hex(image) });
    // The last save went to one copy; damage it: the previous state (writing, not pending) wins.
    const copyLength = 4096;
    const control = hw.flashMemory.cells.get('bootctl')!;
    // Copy header: "DMBC" | u32 sequence (little endian) | …
    const sequence = (copy: number): number =>
      control[copy * copyLength] === 0x44 ? new DataView(control.buffer, copy * copyLength + 4, 4).getUint32(0, true) : -1;
    const newest = sequence(0) > sequence(1) ? 0 : 1;
    expect(sequence(1 - newest)).toBeGreaterThan(0); // the other copy holds the previous state
    hw.flashMemory.corrupt('bootctl', newest * copyLength + 20);
    const next = hw.reboot();
    const outcome = await hw.booted;
    expect(outcome.damagedCopies).toEqual([newest]);
    const status = await next.update.status();
    expect(status).toMatchObject({ active: 'a', confirmed: true });
    expect(status.pending).toBeUndefined();
  });

  it('a power cut during the bootloader step is retried on the next boot', async () => {
    const { hw, device } = boot();
    const image = pattern(3000, 2);
    const writer = await device.update.openInactive({ size: image.length, version: '2.0.0' });
    await writeInChunks(writer, image);
    await writer.complete({ sha256: sha256Hex(image) });
    const operations = hw.power.operations;
    hw.power.cutAfter(1); // the bootloader's first flash operation
    const cut = hw.reboot();
    await expect(hw.booted).rejects.toBeInstanceOf(PowerCutError);
    await expectFailure(() => cut.update.status(), PowerCutError);
    expect(hw.power.operations).toBe(operations + 1);
    const next = hw.reboot();
    expect(await next.update.status()).toMatchObject({ active: 'b', confirmed: false, bootCount: 1 });
  });

  it('code of a previous boot cannot write through its stale handles', async () => {
    const { hw, device } = boot();
    const partition = await device.flash.open({ partition: 'state' });
    const writer = await device.update.openInactive({ size: 100, version: '2.0.0' });
    hw.reboot();
    await expect(partition.write(0, new Uint8Array(8))).rejects.toThrow(/closed/);
    await expect(writer.write(0, new Uint8Array(8))).rejects.toThrow(/closed/);
  });

  it('device.net is this device attached to the hardware network', async () => {
    const { hw, device } = boot();
    hw.network.route('http://manager.test:8080', async () => ({ status: 200, body: utf8Encode('hi') }));
    const response = await device.net.http.request({ method: 'GET', url: 'http://manager.test:8080/x' });
    expect(response.status).toBe(200);
    expect(utf8Decode(await response.bytes())).toBe('hi');
    hw.reboot();
    await expect(device.net.http.request({ method: 'GET', url: 'http://manager.test:8080/x' })).rejects.toThrow(/closed/);
  });

  it('a board without A/B partitions reports it from the update facet', async () => {
    const hw = new MockHardware({ flash: { blockLength: 4096, writeAlign: 8, partitions: [{ name: 'state', size: 8192 }] } });
    const device = hw.boot();
    await expectFailure(() => device.update.status(), UpdateError, 'state');
    expect((await hw.booted).kind).toBe('unavailable');
  });

  it('random is deterministic per seed', () => {
    const a = boot({ seed: 7 }).device.random.bytes(16);
    const b = boot({ seed: 7 }).device.random.bytes(16);
    const c = boot({ seed: 8 }).device.random.bytes(16);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('builds its flash and staging from a board profile', () => {
    expect(fromBoard.stagingCapacity).toBe(STAGING_CAPACITY);
    expect(mockLayout.partitions.map((p) => p.name)).toEqual(['bootctl', 'state', 'slot_a', 'slot_b']);
  });

  it('wasm is absent unless injected', () => {
    expect(boot().device.wasm).toBeUndefined();
    const host = { moduleBytes: async () => new Uint8Array(0), instantiate: async () => ({}) };
    expect(boot({ wasm: host }).device.wasm).toBeDefined();
    expect(() => new MockHardware({ ...hardwareOptions(), wasm: {} as never })).toThrow(InvalidOptionsError);
  });
});
