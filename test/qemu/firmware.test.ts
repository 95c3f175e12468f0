/**
 * A firmware update with reboot on each ARM board under QEMU: `dm-agent run` (ARM Node, Node HAL)
 * checks the reference update service, writes the inactive slot of the flash image file and ends
 * with the reboot exit code; the next process boots the trial from the same image file, confirms
 * it and reports. The device's model is what the Node HAL reports under QEMU (linux-arm64 /
 * linux-arm), so the test asks the emulated node for it first.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { REBOOT_EXIT_CODE } from '../../hal/node/index.ts';
import { type ArmArch, ARCHES, qemuCommand } from '../../scripts/qemu-node.ts';
import { Users, startUpdateServer } from '../../server/updates/index.ts';
import { ADMIN_TOKEN, usersJson, writeImageFolder } from '../server/updates-fixture.ts';

const exec = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** Runs a command to its exit; resolves with the exit code and stderr. */
function runToExit(command: string, args: string[], stop?: () => boolean): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => void (stderr += chunk));
    const poll = stop ? setInterval(() => stop() && child.kill('SIGTERM'), 200) : undefined;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(deadline);
      resolve({ code, stderr });
    });
  });
}

describe.each(Object.keys(ARCHES) as ArmArch[])('board qemu-%s: firmware update with reboot', (arch) => {
  it('installs into the inactive slot, restarts, confirms the trial and reports; the flash image survives', async () => {
    const dir = await mkdtemp(join(tmpdir(), `dm-qemu-fw-${arch}-`));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const probe = await qemuCommand(arch, ['-p', "`${process.platform}-${process.arch}`"]);
    const model = (await exec(probe.command, probe.args)).stdout.trim();
    expect(model).toBe(arch === 'arm64' ? 'linux-arm64' : 'linux-arm');

    const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 13 + 5) & 0xff);
    const { folder } = await writeImageFolder(dir, 'images', [{ model, version: '1.1.0', from: ['0.0.0'], bytes }]);
    const server = await startUpdateServer({ adminToken: ADMIN_TOKEN, users: Users.parse(await usersJson()), internal: {}, importFolders: [folder] });
    cleanups.push(() => server.close());
    server.service.decide(server.service.rules()[0]!.id, 'approved');
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: server.service.serviceUrls(), allowInsecure: true, idleRebootMs: 0 } }));
    const { command, args } = await qemuCommand(arch, ['bin/dm-agent.js', 'run', '--board', `boards/${ARCHES[arch].board}.json`, '--config', config, '--work-dir', join(dir, 'work'), '--device-id', `fw-${arch}`]);

    const first = await runToExit(command, args);
    expect(first.code, first.stderr).toBe(REBOOT_EXIT_CODE);
    expect(first.stderr).toContain('reboot requested');

    const reported = () => server.service.journal().some((e) => e.type === 'report');
    const second = await runToExit(command, args, reported);
    expect(reported(), second.stderr).toBe(true);
    const reports = server.service.journal().filter((e) => e.type === 'report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ report: { outcome: 'installed', toVersion: '1.1.0' } });

    const info = await exec(command, [...args, '--info']);
    expect(JSON.parse(info.stdout).firmware).toMatchObject({ version: '1.1.0' });
  }, 400_000);
});
