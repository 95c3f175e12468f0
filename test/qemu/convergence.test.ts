/**
 * The qemu-arm64 and qemu-armv7 boards: the agent CLI (dist/cli.js, Node HAL) on ARM Node under
 * QEMU user mode (scripts/qemu-node.ts), against the reference manager on loopback — one full
 * pull-model convergence per architecture. ARM Node is fetched once into node_modules/.cache.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArmArch, ARCHES, qemuCommand } from '../../scripts/qemu-node.ts';
import { type Rig, api, newRig, startFleetManager } from '../e2e/harness.ts';

const run = promisify(execFile);

let rig: Rig;
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  await rig.cleanup();
});

describe.each(Object.keys(ARCHES) as ArmArch[])('board qemu-%s (ARM Node under QEMU user mode)', (arch) => {
  it('converges against the reference manager on loopback', async () => {
    const deviceId = `qemu-${arch}`;
    const server = await startFleetManager(rig, { deviceIds: [deviceId], deviceAuth: 'off' });
    const config = join(rig.dir, 'config.json');
    await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true, deviceAuth: false } }));
    const { command, args } = await qemuCommand(arch, ['bin/dm-agent.js', 'run', '--board', `boards/${ARCHES[arch].board}.json`, '--config', config, '--work-dir', join(rig.dir, 'work'), '--device-id', deviceId, '--once']);
    const { stdout } = await run(command, args, { timeout: 240_000, maxBuffer: 4 * 1024 * 1024 });
    const summary = JSON.parse(stdout);
    expect([...summary.installed].sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    expect(summary.failed).toEqual([]);
    const history = await api<any[]>(server, 'GET', `/api/devices/${deviceId}/status`);
    expect(history.filter((s) => s.name === 'telemetry').map((s) => `${s.phase}:${s.outcome}`)).toEqual(['downloadBegin:success', 'downloadEnd:success', 'postInstallEnd:success']);
  }, 300_000);
});
