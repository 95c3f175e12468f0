/**
 * delta-vcdiff / delta-bsdiff: MB/s of target written (MB = 10^6 bytes) applying a patch of a
 * 64 MiB image with ~5 % changed (random overwrites, insertions, deletions, moves), source read
 * from a file at the offsets the patch names, target discarded after hashing (ours computes the
 * result's SHA-256 as it writes; the peers do not). `ours` is the engine set the agent loads on
 * this host (WASM decoder, SHA-256 on the HAL's native digest engine: node:crypto); the same
 * decoder hashing with our WASM SHA-256 (what a board without a digest engine runs) and the JS
 * engine are extra rows. Peers: the real `xdelta3 -d` and `bspatch` processes (their start-up,
 * timed with a no-op run, subtracted) and `@ably/vcdiff-decoder` (it decodes only
 * `xdelta3 -S none -A -n` output, so that row uses that patch, with ours on the same patch as
 * `delta-vcdiff-plain`). Peak memory: the rise of a child process's
 * maximum RSS during one apply (bench/delta-memory.ts), against the window + 1 MiB target.
 * `delta-*-cpu`: CPU ms per apply (ours: process.cpuUsage, Node's thread pool included; the
 * peers: their child's, start-up subtracted), printed with the load average around the rounds.
 *
 * Fixtures are built once into the OS temp directory (bsdiff on 64 MiB takes minutes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as ablyDecode } from '@ably/vcdiff-decoder';
import { createNodeDigestHost } from '../hal/node/digest.ts';
import { loadEngines, type Engines } from '../wasm/index.ts';
import { createNodeWasmHost } from '../wasm/node-host.ts';
import { openRangeFile } from '../wasm/node-delta-files.ts';
import { editImage, prng, randomImage } from '../test/delta/images.ts';
import { median } from './lib.ts';

export const DELTA_IMAGE_BYTES = 64 * 1024 * 1024;
const DIR = join(tmpdir(), 'dm-agent-bench-delta-v1');

export interface DeltaBenchResult {
  name: string;
  unit: 'MB/s' | 'MB' | 'ms';
  value: number;
  peers: Record<string, number>;
}

/** The image pair, and each patch only when a benchmark asks for it (bsdiff takes minutes). */
function fixtures(patches: readonly ('xdelta' | 'plain' | 'bsdiff')[]): { src: string; tgt: string; xdelta: string; plain: string; bsdiff: string } {
  const f = { src: join(DIR, 'src'), tgt: join(DIR, 'tgt'), xdelta: join(DIR, 'x.vcdiff'), plain: join(DIR, 'p.vcdiff'), bsdiff: join(DIR, 'b.bsdiff') };
  mkdirSync(DIR, { recursive: true });
  if (!existsSync(f.tgt)) {
    const random = prng(0xde17a);
    const source = randomImage(DELTA_IMAGE_BYTES, random);
    writeFileSync(f.src, source);
    writeFileSync(`${f.tgt}.tmp`, editImage(source, random, 40, 0.05));
    renameSync(`${f.tgt}.tmp`, f.tgt);
  }
  const make = (out: string, command: string, args: string[]): void => {
    if (existsSync(out)) return;
    execFileSync(command, [...args, `${out}.tmp`], { stdio: 'ignore' });
    renameSync(`${out}.tmp`, out);
  };
  if (patches.includes('xdelta')) make(f.xdelta, 'xdelta3', ['-e', '-f', '-s', f.src, f.tgt]);
  if (patches.includes('plain')) make(f.plain, 'xdelta3', ['-e', '-f', '-S', 'none', '-A', '-n', '-s', f.src, f.tgt]);
  if (patches.includes('bsdiff')) make(f.bsdiff, 'bsdiff', [f.src, f.tgt]);
  return f;
}

async function ours(engines: Engines, src: string, patchPath: string): Promise<number> {
  const source = await openRangeFile(src);
  const patch = await openRangeFile(patchPath);
  try {
    const result = await engines.applyDelta(source.read, patch.read, () => undefined);
    return result.bytesWritten;
  } finally {
    await Promise.all([source.close(), patch.close()]);
  }
}

/** CPU ms of this process's waited-for children (Linux /proc; NaN elsewhere). */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime, stime, cutime, cstime are fields 14-17 of stat(5); [1] starts at field 3.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

const selfCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** One timed run: wall ms and CPU ms (this process, its thread pool included; or the child's). */
interface Run {
  ms: number;
  cpuMs: number;
}

function processTime(command: string, args: string[]): Run {
  const cpu = childrenCpuMs();
  const start = performance.now();
  const r = spawnSync(command, args, { stdio: 'ignore' });
  const ms = performance.now() - start;
  if (r.error) throw r.error;
  return { ms, cpuMs: childrenCpuMs() - cpu };
}

type Runner = () => Promise<Run> | Run;

/**
 * Interleaved rounds (rotating order), medians in ms; each runner returns its own duration. Two
 * warm-up runs each: on this loaded machine V8's background TurboFan compile of the hash module
 * can take longer than one 64 MiB apply, and rounds on baseline code would measure the tier.
 */
async function rounds(runners: Record<string, Runner>, count: number): Promise<Record<string, number>> {
  const names = Object.keys(runners);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpu: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (let k = 0; k < 2; k++) for (const name of names) await (runners[name] as Runner)();
  const load = loadavg()[0] as number;
  for (let round = 0; round < count; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length] as string;
      const run = await (runners[name] as Runner)();
      (times[name] as number[]).push(run.ms);
      cpu[name] = (cpu[name] as number) + run.cpuMs;
    }
  }
  // CPU is a mean over the rounds (child CPU comes in 10 ms ticks); the load average brackets
  // the measurement: on a shared machine a separate process gets the idle core, we do not.
  console.log(`  ${names.map((n) => `${n} ${median(times[n] as number[]).toFixed(1)} ms wall, ${((cpu[n] as number) / count).toFixed(1)} ms CPU`).join('; ')}; load average ${load.toFixed(2)} → ${(loadavg()[0] as number).toFixed(2)}`);
  return Object.fromEntries([...names.map((n) => [n, median(times[n] as number[])]), ...names.map((n) => [`${n} cpu`, (cpu[n] as number) / count])]);
}

const timed = (work: () => Promise<unknown> | unknown): Runner => async () => {
  const cpu = selfCpuMs();
  const start = performance.now();
  await work();
  return { ms: performance.now() - start, cpuMs: selfCpuMs() - cpu };
};

function memory(engine: 'wasm' | 'js', src: string, patch: string): { riseMB: number; windowMB: number } {
  const child = fileURLToPath(new URL('./delta-memory.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, engine, src, patch], { encoding: 'utf8' });
  const { riseKiB, peakWindowBytes } = JSON.parse(out) as { riseKiB: number; peakWindowBytes: number };
  return { riseMB: (riseKiB * 1024) / 1e6, windowMB: peakWindowBytes / 1e6 };
}

export async function benchDelta(engines: { wasm: Engines; js: Engines }, count: number, only: ReadonlySet<string>): Promise<DeltaBenchResult[]> {
  // As agent/index.ts loads them where the device has a digest engine.
  const native = await loadEngines({ wasm: createNodeWasmHost(), native: createNodeDigestHost(), engine: 'auto' });
  const f = fixtures([...(only.has('delta-vcdiff') ? (['xdelta', 'plain'] as const) : []), ...(only.has('delta-bsdiff') ? (['bsdiff'] as const) : [])]);
  const targetBytes = readFileSync(f.tgt).length;
  const mbps = (ms: number): number => targetBytes / 1e6 / (ms / 1000);
  const results: DeltaBenchResult[] = [];
  const startXdelta = (): Run => processTime('xdelta3', ['-V']);
  const startBspatch = (): Run => processTime('bspatch', []);

  if (only.has('delta-vcdiff')) {
    const t = await rounds({
      ours: timed(() => ours(native, f.src, f.xdelta)),
      wasmHash: timed(() => ours(engines.wasm, f.src, f.xdelta)),
      js: timed(() => ours(engines.js, f.src, f.xdelta)),
      xdelta3: () => processTime('xdelta3', ['-d', '-f', '-c', '-s', f.src, f.xdelta]),
      xdelta3Start: startXdelta,
    }, count);
    results.push({ name: 'delta-vcdiff', unit: 'MB/s', value: mbps(t['ours'] as number), peers: { 'xdelta3 -d': mbps((t['xdelta3'] as number) - (t['xdelta3Start'] as number)), 'ours, WASM SHA-256': mbps(t['wasmHash'] as number), 'ours-js': mbps(t['js'] as number) } });
    // CPU per apply (ours: the whole process, thread pool included; xdelta3: the child, start-up subtracted).
    results.push({ name: 'delta-vcdiff-cpu', unit: 'ms', value: t['ours cpu'] as number, peers: { 'xdelta3 -d': (t['xdelta3 cpu'] as number) - (t['xdelta3Start cpu'] as number) } });
    const source = new Uint8Array(readFileSync(f.src));
    const plain = new Uint8Array(readFileSync(f.plain));
    const p = await rounds({
      ours: timed(() => ours(native, f.src, f.plain)),
      wasmHash: timed(() => ours(engines.wasm, f.src, f.plain)),
      ably: timed(() => ablyDecode(plain, source)),
      xdelta3: () => processTime('xdelta3', ['-d', '-f', '-c', '-s', f.src, f.plain]),
      xdelta3Start: startXdelta,
    }, count);
    results.push({ name: 'delta-vcdiff-plain', unit: 'MB/s', value: mbps(p['ours'] as number), peers: { '@ably/vcdiff-decoder': mbps(p['ably'] as number), 'xdelta3 -d': mbps((p['xdelta3'] as number) - (p['xdelta3Start'] as number)), 'ours, WASM SHA-256': mbps(p['wasmHash'] as number) } });
    const m = memory('wasm', f.src, f.xdelta);
    results.push({ name: 'delta-vcdiff-memory', unit: 'MB', value: m.riseMB, peers: { 'window + 1 MiB': m.windowMB + 1.048576 } });
  }
  if (only.has('delta-bsdiff')) {
    const t = await rounds({
      ours: timed(() => ours(native, f.src, f.bsdiff)),
      wasmHash: timed(() => ours(engines.wasm, f.src, f.bsdiff)),
      js: timed(() => ours(engines.js, f.src, f.bsdiff)),
      bspatch: () => processTime('bspatch', [f.src, '/dev/null', f.bsdiff]),
      bspatchStart: startBspatch,
    }, count);
    results.push({ name: 'delta-bsdiff', unit: 'MB/s', value: mbps(t['ours'] as number), peers: { bspatch: mbps((t['bspatch'] as number) - (t['bspatchStart'] as number)), 'ours, WASM SHA-256': mbps(t['wasmHash'] as number), 'ours-js': mbps(t['js'] as number) } });
    results.push({ name: 'delta-bsdiff-cpu', unit: 'ms', value: t['ours cpu'] as number, peers: { bspatch: (t['bspatch cpu'] as number) - (t['bspatchStart cpu'] as number) } });
    const m = memory('wasm', f.src, f.bsdiff);
    results.push({ name: 'delta-bsdiff-memory', unit: 'MB', value: m.riseMB, peers: { 'bspatch (old + new in memory)': (2 * DELTA_IMAGE_BYTES) / 1e6 } });
  }
  return results;
}
