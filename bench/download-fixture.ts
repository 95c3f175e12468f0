/**
 * What the download and cold-start benchmarks share: a reference manager on loopback (in this
 * process) with one package of the size under test, a board profile whose staging holds it, and
 * helpers to run `dm-agent` and shell pipelines as child processes, timed from spawn to exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFleet, startManager, type RunningManager } from '../server/index.ts';
import { ArtifactSigner } from '../server/artifacts.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CLI = join(ROOT, 'bin', 'dm-agent.js');
const URL_SECRET = 'bench-url-secret-0123456789';

export interface Fixture {
  dir: string;
  manager: RunningManager;
  /** A signed URL of the package, as the agent would get it (for curl). */
  artifactUrl: string;
  artifactFile: string;
  board: string;
  config: string;
  /**
   * A provisioned work directory (flash image, state store) of a device that polled once with
   * nothing to do: each timed run starts from a copy, so it measures an install on an existing
   * device, not writing and syncing a fresh 17 MiB flash image.
   */
  template: string;
  close(): Promise<void>;
}

/** Random bytes (incompressible), written in 4 MiB steps so a 1 GiB file needs no 1 GiB buffer. */
function writeArtifact(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    for (let at = 0; at < size; at += 4 << 20) writeSync(fd, randomBytes(Math.min(4 << 20, size - at)));
  } finally {
    closeSync(fd);
  }
}

export async function startFixture(size: number): Promise<Fixture> {
  const dir = join(tmpdir(), `dm-bench-download-${process.pid}-${size}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'artifacts'), { recursive: true });
  const artifactFile = join(dir, 'artifacts', 'big.bin');
  writeArtifact(artifactFile, size);
  const fleetJson = {
    packages: { big: { '1.0.0': { file: 'artifacts/big.bin', postInstall: { command: '/bin/true', args: [], timeoutMs: 60_000 } } } },
    groups: { bench: { packages: [{ name: 'big', version: '1.0.0' }] }, idle: { packages: [] } },
    devices: { idle: { groups: ['idle'] } },
    defaults: { group: 'bench' },
  };
  const fleet = await loadFleet(fleetJson, dir);
  const manager = await startManager({ fleet, host: '127.0.0.1', port: 0, urlSecret: URL_SECRET, deviceAuth: 'off' });
  const entry = fleet.catalogue.get('big')?.get('1.0.0');
  if (!entry) throw new Error('bench fleet: package missing');
  const artifactUrl = new ArtifactSigner(fleet, URL_SECRET).signedUrl(manager.url, entry, Date.now() + 24 * 3600_000);

  // The stock sim board stages 64 MiB; the benchmark board stages 4 GiB, everything else as sim.
  const sim = JSON.parse(readFileSync(join(ROOT, 'boards', 'sim.json'), 'utf8'));
  sim.name = 'bench';
  for (const partition of sim.partitions) if (partition.kind === 'staging') partition.size = 4 * 1024 ** 3;
  delete sim.$schema;
  const board = join(dir, 'board.json');
  writeFileSync(board, JSON.stringify(sim));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: manager.url, allowInsecure: true, deviceAuth: false } }));
  const template = join(dir, 'template');
  await timed(process.execPath, [CLI, 'run', '--board', board, '--config', config, '--work-dir', template, '--device-id', 'idle', '--once']);
  return {
    dir,
    manager,
    artifactUrl,
    artifactFile,
    board,
    config,
    template,
    async close() {
      await manager.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ChildRun {
  ms: number;
  stdout: string;
  /** Peak resident set of the child in bytes (GNU time), when asked for. */
  peakRss?: number;
  /**
   * CPU time (user + system, ms) of the child and every process it waited for (GNU time), when
   * asked for with `rss`: on this shared 2-core machine wall time mostly measures the load, CPU
   * time what a contender costs (a three-process shell pipeline also gets three scheduler shares).
   */
  cpuMs?: number;
}

/** Runs `command` to completion (exit 0 required), timed from spawn to exit, without blocking this event loop. */
export function timed(command: string, args: string[], options: { rss?: boolean; cwd?: string } = {}): Promise<ChildRun> {
  const rssFile = options.rss ? join(tmpdir(), `dm-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`) : undefined;
  const [file, argv] = rssFile ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(file, argv, { cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      output += d;
    });
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - start;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`));
      if (!rssFile) return resolve({ ms, stdout });
      const [kib, user, system] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number) as [number, number, number];
      rmSync(rssFile, { force: true });
      resolve({ ms, stdout, peakRss: kib * 1024, cpuMs: (user + system) * 1000 });
    });
  });
}

/** Flushes dirty pages so that no round pays for the previous one's writeback. */
export function syncDisks(): void {
  spawnSync('sync');
}

/** `dm-agent run --once` for device `deviceId` in a fresh copy of the provisioned work directory. */
export function agentRunOnce(f: Fixture, deviceId: string, work: string): Promise<ChildRun> {
  rmSync(work, { recursive: true, force: true });
  cpSync(f.template, work, { recursive: true });
  return timed(process.execPath, [CLI, 'run', '--board', f.board, '--config', f.config, '--work-dir', work, '--device-id', deviceId, '--once'], { rss: true });
}
