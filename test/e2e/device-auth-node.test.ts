/**
 * Device authentication and the transport policy on the Node HAL against the reference manager on
 * loopback: the key file is made at first boot (mode 0600) and reused after a restart; the device
 * stays pending until the admin API accepts it; tokens never reach a log; a plain-HTTP manager is
 * used only with `allowInsecure` and then logged at every poll; over TLS nothing is logged.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import { createNodeDevice, type NodeDevice } from '../../hal/node/index.ts';
import { DEVICE_KEY_FILE } from '../../hal/node/keystore.ts';
import type { LogRecord } from '../../hal/types.ts';
import { generateCertificates } from '../support/tls.ts';
import { type Rig, api, issuedTokens, newRig, sim, startFleetManager } from './harness.ts';

let rig: Rig;
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  await rig.cleanup();
});

async function boot(deviceId: string, manager: string, lines: LogRecord[], extra: { ca?: string; allowInsecure?: boolean } = {}): Promise<{ device: NodeDevice; agent: Agent }> {
  const device = await createNodeDevice({
    workDir: join(rig.dir, `work-${deviceId}`),
    board: sim,
    identity: { deviceId, model: 'sim' },
    log: { level: 'debug', sink: (record) => lines.push(record) },
    ...(extra.ca ? { net: { ca: extra.ca } } : {}),
  });
  rig.devices.push(device);
  const delivery = { manager, download: { checkpointBytes: 64 * 1024 }, ...(extra.allowInsecure ? { allowInsecure: true } : {}) };
  const agent = await createAgent(device, sim, { logLevel: 'debug', trust: { allowUnsigned: true }, delivery });
  rig.agents.push(agent);
  return { device, agent };
}

const insecureLines = (lines: LogRecord[]) => lines.filter((line) => line.level === 'warn' && /INSECURE connection to manager http:\/\/127\.0\.0\.1/.test(line.message));

describe('device authentication over real HTTP (Node HAL)', () => {
  it('pending until the admin accepts the key; the key survives a restart; tokens never reach the log; http logged at every poll', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['node-auth-1'] });
    const tokens = issuedTokens(server);
    const lines: LogRecord[] = [];
    let { device, agent } = await boot('node-auth-1', server.url, lines, { allowInsecure: true });
    const keyFile = join(rig.dir, 'work-node-auth-1', DEVICE_KEY_FILE);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const publicKey = agent.delivery!.publicKey!;
    expect(lines.some((line) => line.message.startsWith('device key') && JSON.stringify(line.fields).includes(publicKey))).toBe(true);

    await expect(agent.pollOnce()).rejects.toMatchObject({ name: 'TransportError', status: 401, managerCode: 'pending' });
    const { devices } = await api<{ devices: { deviceId: string; publicKey: string; status: string }[] }>(server, 'GET', '/api/auth/devices');
    expect(devices).toEqual([{ deviceId: 'node-auth-1', publicKey, status: 'pending' }]);
    await api(server, 'PUT', `/api/auth/devices/node-auth-1/${publicKey}`, { status: 'accepted' });

    const first = await agent.pollOnce();
    expect(first.failed).toEqual([]);
    expect(first.installed.length).toBe(4);
    expect((await api<unknown[]>(server, 'GET', '/api/devices/node-auth-1/status')).length).toBeGreaterThan(0);

    // A restart: same key file, same key, the manager knows it (no second pending entry).
    await agent.close();
    await device.close();
    ({ device, agent } = await boot('node-auth-1', server.url, lines, { allowInsecure: true }));
    expect(agent.delivery!.publicKey).toBe(publicKey);
    const again = await agent.pollOnce();
    expect(again.kept).toBe(4);
    expect((await api<{ devices: unknown[] }>(server, 'GET', '/api/auth/devices')).devices).toHaveLength(1);

    expect(insecureLines(lines)).toHaveLength(3); // one per poll, the refused one included
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    const logged = JSON.stringify(lines);
    for (const token of tokens) expect(logged).not.toContain(token.split('.')[1]);
  });

  it('refuses an http:// manager without allowInsecure before anything is sent; https with the CA works and logs no warning', async () => {
    const plain = await startFleetManager(rig, { deviceIds: ['node-auth-2'] });
    await expect(boot('node-auth-2', plain.url, [])).rejects.toMatchObject({ code: 'badConfig', message: expect.stringMatching(/is not https:\/\/ \(set allowInsecure: true/) });

    const tls = await generateCertificates();
    const secure = await startFleetManager(rig, { deviceIds: ['node-auth-3'], tls });
    const lines: LogRecord[] = [];
    const { agent } = await boot('node-auth-3', secure.url, lines, { ca: tls.ca });
    secure.manager.deviceAuth.preauthorize('node-auth-3', agent.delivery!.publicKey!);
    const summary = await agent.pollOnce();
    expect(summary.manager).toMatch(/^https:/);
    expect(summary.installed.length).toBe(4);
    expect(lines.some((line) => /INSECURE/.test(line.message))).toBe(false);
  });
});
