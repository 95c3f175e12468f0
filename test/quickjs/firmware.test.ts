/**
 * The firmware family inside QuickJS against the reference update service on loopback: check,
 * download into the inactive slot of the host-side flash image, reboot (a new device on the same
 * work directory and a new QuickJS runtime: the process restart), trial boot confirmed, report.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootPhone, small } from './phone.ts';
import { Users, startUpdateServer } from '../../server/updates/index.ts';
import { ADMIN_TOKEN, usersJson, writeImageFolder } from '../server/updates-fixture.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

describe('firmware update inside QuickJS (host-side Node HAL, loopback update service)', () => {
  it('checks, downloads, reboots into the trial, confirms and reports; the flash image survives the restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-fw-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bytes = new Uint8Array(48 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
    const { folder } = await writeImageFolder(dir, 'cab', [{ model: 'CX600', version: '4.1.0', from: ['4.0.1'], bytes }]);
    const server = await startUpdateServer({ adminToken: ADMIN_TOKEN, users: Users.parse(await usersJson()), internal: {}, importFolders: [folder] });
    cleanups.push(() => server.close());
    server.service.decide(server.service.rules()[0]!.id, 'approved');
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: server.service.serviceUrls(), allowInsecure: true, idleRebootMs: 0, download: { checkpointBytes: 16 * 1024 } } };

    const boot = () => bootPhone(join(dir, 'phone'), { deviceId: 'qjs-phone', model: 'CX600', hardwareId: 'hw-1', firmwareVersion: '4.0.1' }, cleanups);

    let { phone, host } = await boot();
    let agent = await host.start(phone, small, config);
    await host.guarded(agent.trigger('firmware', 'boot'));
    expect((await host.guarded(agent.firmware()))?.last.check).toBe('update');
    expect(await phone.update.status()).toMatchObject({ pending: 'b' });
    await host.guarded(agent.close());
    const firstPeak = host.memory.peakBytes;
    host.dispose();
    await phone.close();

    ({ phone, host } = await boot()); // the reboot: the bootloader starts the trial from the same flash image
    expect(phone.bootOutcome.kind).toBe('trial');
    agent = await host.start(phone, small, config);
    await host.guarded(agent.trigger('firmware', 'boot'));
    expect(await phone.update.status()).toMatchObject({ active: 'b', confirmed: true });
    expect((await host.guarded(agent.firmware()))?.info).toMatchObject({ version: '4.1.0' });
    const reports = server.service.journal().filter((e) => e.type === 'report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ zone: 'internal', report: { outcome: 'installed', toVersion: '4.1.0' } });
    await host.guarded(agent.close());
    const peak = Math.max(firstPeak, host.memory.peakBytes);
    console.log(`QuickJS firmware cycle: guest heap peak ${(peak / 1024).toFixed(0)} KiB (budget ${small.memoryBudgetBytes / 1024} KiB)`);
    expect(peak).toBeLessThanOrEqual(small.memoryBudgetBytes);
  }, 120_000);
});
