/**
 * An OMA DM session with FUMO inside QuickJS against the reference DM server on loopback: a
 * client-initiated session gets Exec Download, the package goes into the inactive slot of the
 * host-side flash image and waits in the hold (State 40); the next session's Exec Update releases
 * it, the device reboots (a new device on the same work directory and a new QuickJS runtime),
 * the trial boot is committed and both Generic Alerts reach the server. Run twice: SyncML
 * tokenizing and hashing by the guest's JS engines (no WebAssembly in QuickJS), and by the host's
 * engines the board declares (`nativeServices`) offered through the bridge.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootPhone, small } from './phone.ts';
import { fumoDownload, fumoUpdate, startDmServer } from '../../server/omadm/index.ts';
import { account, CLIENT, DEVICE_ID, engines as jsEngines, IMAGE, md5, SERVER, writePackage } from '../omadm/session-rig.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

describe('OMA DM with FUMO inside QuickJS (host-side Node HAL, loopback reference DM server)', () => {
  it.each([
    ['the guest JS engines', { engines: false } as const],
    ["the host's engines the board declares (nativeServices), through the bridge", undefined],
  ] as const)('Exec Download → hold → Exec Update → reboot → committed, Generic Alerts acknowledged; with %s', async (_, offer) => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-omadm-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const pkg = await writePackage(dir, 'fw-2.0.bin', IMAGE);
    const running = await startDmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [pkg], md5, tokenize: jsEngines.syncmlTokenize });
    cleanups.push(() => running.close());
    const server = running.server;
    const { client, server: serverCredential, ...rest } = account(server.url);
    const config = {
      logLevel: 'error',
      trust: { allowUnsigned: true },
      // The reference DM server on loopback speaks plain HTTP: allowed explicitly.
      omadm: { accounts: [{ ...rest, allowInsecure: true, client: { ...client }, server: { ...serverCredential } }], udpPort: 0, retries: 0, schedule: { jitterMs: 0 }, manufacturer: 'Acme' },
    };
    const guestJs = offer !== undefined;

    const boot = () => bootPhone(join(dir, 'phone'), { deviceId: DEVICE_ID, model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' }, cleanups);

    let { phone, host } = await boot();
    let agent = await host.start(phone, small, config, offer);
    expect(agent.boot.engine === 'js').toBe(guestJs);
    server.script(fumoDownload('1', server.packageUrl(pkg.name), 'corr-dl', 'Download', { version: '2.0.0', size: pkg.size, sha256: pkg.digest }));
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toEqual(['Replace:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Exec:202']);
    expect(server.journal.of('download').length).toBeGreaterThan(0);

    server.script([fumoUpdate('1', 'corr-up')]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toContain('Exec:202');
    expect(await phone.update.status()).toMatchObject({ pending: 'b' });
    await host.guarded(agent.close());
    const firstPeak = host.memory.peakBytes;
    host.dispose();
    await phone.close();

    ({ phone, host } = await boot()); // the reboot: the bootloader starts the trial from the same flash image
    expect(phone.bootOutcome.kind).toBe('trial');
    agent = await host.start(phone, small, config, offer);
    await host.guarded(agent.trigger('omadm', 'boot'));
    expect(await phone.update.status()).toMatchObject({ active: 'b', confirmed: true });
    expect(server.journal.genericAlerts().map((a) => `${a.correlator} ${a.result}`)).toEqual(['corr-dl 200', 'corr-up 200']);
    await host.guarded(agent.close());
    expect(host.loadedModules.some((name) => /\/engines-js-\w+\.js$/.test(name))).toBe(guestJs);
    const peak = Math.max(firstPeak, host.memory.peakBytes);
    console.log(`QuickJS OMA DM + FUMO cycle (${guestJs ? 'guest JS engines' : 'host engines'}): guest heap peak ${(peak / 1024).toFixed(0)} KiB (budget ${small.memoryBudgetBytes / 1024} KiB)`);
    expect(peak).toBeLessThanOrEqual(small.memoryBudgetBytes);
  }, 120_000);
});
