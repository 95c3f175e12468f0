import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { run as runCommand } from '../../cli/commands/run.ts';
import { type Rig, acceptCliDevice, newRig, startFleetManager } from '../e2e/harness.ts';

const exec = promisify(execFile);
const capture = () => {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
};

describe('dm-agent command line', () => {
  it('prints help with every command, and usage errors exit 2', async () => {
    const help = capture();
    expect(await main(['--help'], help.io)).toBe(0);
    for (const command of ['demo', 'run', 'server', 'board', 'hash', 'diff']) expect(help.out.stdout).toContain(`  ${command}`);
    const none = capture();
    expect(await main([], none.io)).toBe(2);
    const unknown = capture();
    expect(await main(['frobnicate'], unknown.io)).toBe(2);
    expect(unknown.out.stderr).toContain('unknown command "frobnicate"');
    const version = capture();
    expect(await main(['--version'], version.io)).toBe(0);
    expect(version.out.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('the installed launcher runs the built CLI (npm test builds first)', async () => {
    expect(existsSync('dist/cli.js'), 'dist/cli.js is missing: run npm run build (npm test does)').toBe(true);
    const { stdout } = await exec(process.execPath, ['bin/dm-agent.js', '--help']);
    expect(stdout).toContain('dm-agent — device-management and firmware-update agent');
    const check = await exec(process.execPath, ['bin/dm-agent.js', 'board', 'check', 'boards/sim.json']);
    expect(check.stdout).toContain('boards/sim.json: ok');
  });
});

describe('dm-agent run', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await newRig();
  });
  afterAll(async () => {
    await rig.cleanup();
  });

  it('refuses bad arguments, boards and configs with exit 2 and a readable message', async () => {
    const missing = capture();
    expect(await runCommand(['--board', 'boards/sim.json'], missing.io)).toBe(2);
    expect(missing.out.stderr).toContain('usage: dm-agent run');
    const noBoard = capture();
    expect(await runCommand(['--board', join(rig.dir, 'nope.json'), '--config', join(rig.dir, 'nope.json')], noBoard.io)).toBe(2);
    expect(noBoard.out.stderr).toMatch(/nope\.json: cannot read: no such file/);
    const config = join(rig.dir, 'bad-config.json');
    await writeFile(config, JSON.stringify({ delivery: { manager: 'https://m.test', schedul: {} } }));
    const badConfig = capture();
    expect(await runCommand(['--board', 'boards/sim.json', '--config', config, '--work-dir', join(rig.dir, 'w0')], badConfig.io)).toBe(2);
    expect(badConfig.out.stderr).toContain('delivery.schedul: unknown key');
  });

  it('--once polls the manager, prints the summary as JSON and leaves a persistent device behind', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['cli-dev'] });
    const config = join(rig.dir, 'agent.json');
    await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true } }));
    const args = ['--board', 'boards/sim.json', '--config', config, '--work-dir', join(rig.dir, 'w1'), '--device-id', 'cli-dev', '--once'];
    await acceptCliDevice(server, args.slice(0, -1));
    const first = capture();
    expect(await runCommand(args, first.io), first.out.stderr).toBe(0);
    const summary = JSON.parse(first.out.stdout);
    expect(summary.installed).toHaveLength(4);
    // A second process start is a reboot: the state store remembers everything.
    const second = capture();
    expect(await runCommand(args, second.io)).toBe(0);
    const again = JSON.parse(second.out.stdout);
    expect(again.installed).toEqual([]);
    expect(again.kept).toBe(4);
    expect(again.referenceCounter).toBeGreaterThan(summary.referenceCounter);
    expect((await readFile(join(rig.dir, 'w1', 'flash.img'))).length).toBeGreaterThan(0);
  });
});

describe('dm-agent demo (npm start)', () => {
  it('converges in three polls and says so', async () => {
    const { out, io } = capture();
    expect(await main(['demo'], io), out.stderr).toBe(0);
    expect(out.stdout).toContain('installed 5, upgraded 1, removed 1, failed 0');
    expect(out.stdout).toContain('converged ✔');
    expect(out.stdout).toMatch(/artifacts match their signed entries ✔/);
    expect(out.stdout).toMatch(/tampered .*refused \(hashMismatch\) ✔/);
    expect(out.stdout).toMatch(/manager got: {2}19 status reports/);
    expect(out.stdout).toMatch(/package #0 over MQTT → session 51: .*Exec:202/); // the push channel, through the embedded broker
    const dir = out.stdout.match(/\(kept (.*)\)/);
    expect(dir).toBeNull(); // cleaned up without --keep
  }, 120_000);
});

