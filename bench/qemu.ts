/**
 * `qemu-cycle-arm64`, `qemu-cycle-armv7` (s): one pull-model convergence by the agent CLI on ARM
 * Node under QEMU user mode against the reference manager on loopback (fresh work dir each
 * round); peer `host`: the same command on this machine's Node.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ArmArch, ARCHES, qemuCommand } from '../scripts/qemu-node.ts';
import { newRig, startFleetManager } from '../test/e2e/harness.ts';

const run = promisify(execFile);

async function cycleSeconds(rigDir: string, managerUrl: string, deviceId: string, board: string, wrap: (args: string[]) => Promise<{ command: string; args: string[] }>): Promise<number> {
  const config = join(rigDir, `${deviceId}.json`);
  const workDir = join(rigDir, `work-${deviceId}`);
  await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: managerUrl, allowInsecure: true, deviceAuth: false } }));
  await rm(workDir, { recursive: true, force: true });
  const { command, args } = await wrap(['bin/dm-agent.js', 'run', '--board', `boards/${board}.json`, '--config', config, '--work-dir', workDir, '--device-id', deviceId, '--once']);
  const start = performance.now();
  await run(command, args, { timeout: 300_000, maxBuffer: 4 * 1024 * 1024 });
  return (performance.now() - start) / 1000;
}

export async function benchQemu(only: Set<string>, rounds: number): Promise<{ name: string; value: number; peers: Record<string, number> }[]> {
  const results = [];
  for (const arch of Object.keys(ARCHES) as ArmArch[]) {
    const name = `qemu-cycle-${arch}`;
    if (!only.has(name)) continue;
    const rig = await newRig();
    try {
      const ids = Array.from({ length: rounds }, (_, i) => [`arm-${i}`, `host-${i}`]).flat();
      const server = await startFleetManager(rig, { deviceIds: ids, deviceAuth: 'off' }); // the cycle, not the key exchange
      const arm: number[] = [];
      const host: number[] = [];
      for (let i = 0; i < rounds; i++) {
        arm.push(await cycleSeconds(rig.dir, server.url, `arm-${i}`, ARCHES[arch].board, (args) => qemuCommand(arch, args)));
        host.push(await cycleSeconds(rig.dir, server.url, `host-${i}`, ARCHES[arch].board, async (args) => ({ command: process.execPath, args })));
      }
      results.push({ name, value: median(arm), peers: { host: median(host) } });
    } finally {
      await rig.cleanup();
    }
  }
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
