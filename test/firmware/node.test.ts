/**
 * The firmware family on the Node HAL over loopback, against the reference update service's real
 * listeners (internal http, external https with a throw-away CA): a whole update, with the
 * reboot played by closing the device and creating it again on the same work directory (which
 * runs the A/B bootloader step), and outside the firewall with a signed-in user over HTTPS.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/index.ts';
import { main } from '../../cli/main.ts';
import { createNodeDevice, type NodeDevice } from '../../hal/node/index.ts';
import { type RunningUpdateServer, Users, startUpdateServer } from '../../server/updates/index.ts';
import { ADMIN_TOKEN, ALICE, usersJson, writeImageFolder } from '../server/updates-fixture.ts';
import { generateCertificates } from '../support/tls.ts';

const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8'));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function serve(): Promise<{ server: RunningUpdateServer; dir: string; ca: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-fw-node-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const tls = await generateCertificates();
  const bytes = new Uint8Array(200 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
  const { folder } = await writeImageFolder(dir, 'cab', [{ model: 'CX600', version: '4.1.0', from: ['4.0.1'], bytes }]);
  const server = await startUpdateServer({ adminToken: ADMIN_TOKEN, users: Users.parse(await usersJson()), internal: {}, external: { tls }, importFolders: [folder] });
  cleanups.push(() => server.close());
  server.service.decide(server.service.rules()[0]!.id, 'approved');
  return { server, dir, ca: tls.ca };
}

async function device(dir: string, ca: string, location: 'inside' | 'outside'): Promise<NodeDevice> {
  const made = await createNodeDevice({
    workDir: join(dir, 'phone'),
    board: sim,
    identity: { deviceId: 'node-phone', model: 'CX600', hardwareId: 'hw-1', firmwareVersion: '4.0.1' },
    log: { level: 'error' },
    net: { ca },
    location,
    onReboot: () => {}, // the test plays the reboot
  });
  cleanups.push(() => made.close());
  return made;
}

describe('firmware family on the Node HAL (loopback)', () => {
  it('checks, downloads into the inactive slot, reboots, confirms the trial boot and reports', async () => {
    const { server, dir, ca } = await serve();
    const config = { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: server.service.serviceUrls(), allowInsecure: true, idleRebootMs: 0, download: { checkpointBytes: 64 * 1024 } } };
    let phone = await device(dir, ca, 'inside');
    let agent = await createAgent(phone, sim, config);
    await agent.trigger('firmware', 'boot');
    expect(agent.firmware!.last.check).toBe('update');
    expect(await phone.update.status()).toMatchObject({ pending: 'b' });
    await agent.close();
    await phone.close();

    phone = await device(dir, ca, 'inside'); // the reboot: the bootloader starts the trial
    expect(phone.bootOutcome.kind).toBe('trial');
    agent = await createAgent(phone, sim, config);
    await agent.trigger('firmware', 'boot');
    expect(await phone.update.status()).toMatchObject({ active: 'b', confirmed: true });
    expect(await agent.firmware!.info()).toMatchObject({ version: '4.1.0' });
    const reports = server.service.journal().filter((e) => e.type === 'report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ zone: 'internal', report: { outcome: 'installed', toVersion: '4.1.0' } });
    await agent.close();
    await phone.close();

    // `dm-agent run --info`: the system information, persisted across the restart.
    const configFile = join(dir, 'config.json');
    await writeFile(configFile, JSON.stringify(config));
    let out = '';
    const io = { stdout: (text: string) => void (out += text), stderr: () => {} };
    const code = await main(['run', '--board', fileURLToPath(new URL('../../boards/sim.json', import.meta.url)), '--config', configFile, '--work-dir', join(dir, 'phone'), '--device-id', 'node-phone', '--info'], io);
    expect(code).toBe(0);
    const info = JSON.parse(out);
    expect(info.firmware).toMatchObject({ version: '4.1.0', lastUpdateUtcMs: expect.any(Number) });
    expect(info.families.map((f: { name: string }) => f.name)).toEqual(['firmware']);
  }, 60_000);

  it('outside the firewall: nothing without a user; with one, the external listener over HTTPS', async () => {
    const { server, dir, ca } = await serve();
    const config = { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: server.service.serviceUrls(), allowInsecure: true, idleRebootMs: 60_000 } };
    const phone = await device(dir, ca, 'outside');
    const agent = await createAgent(phone, sim, config);
    await agent.trigger('firmware', 'boot');
    expect(agent.firmware!.last.check).toBe('notTried');
    expect(server.service.journal().filter((e) => e.type === 'check')).toHaveLength(0);
    phone.signIn(ALICE.user, ALICE.password);
    await agent.trigger('firmware', 'signIn');
    expect(agent.firmware!.last.check).toBe('update');
    const checks = server.service.journal().filter((e) => e.type === 'check');
    expect(checks).toEqual([expect.objectContaining({ zone: 'external', user: 'alice', downloads: 1 })]);
    expect(server.service.journal().filter((e) => e.type === 'download').every((e) => e.zone === 'external')).toBe(true);
    await agent.close();
  }, 60_000);
});
