/**
 * Footprint benchmarks, against their targets as peers: `bundle` (KB, minified dist/agent.js and
 * the chunks it imports statically: what every board stores and loads at start), `bundle-full`
 * (KB, every chunk of the build: what a board stores to run everything), `bundle-cycle-<board>`
 * (KB, what one full cycle loads on that board: the core, every family, one delta, signed metadata
 * and the lazy engines its runtime needs — the JS verifier and engines on QuickJS unless the board
 * declares them native, the WASM drivers on Node, see scripts/agent-bundle.ts CYCLE_CHUNKS) and `wasm` (KB, every module under dist/wasm); plus what
 * dominates the bundle (esbuild metafile, bytes in the minified output by package / agent
 * folder) and what each family adds, printed.
 */
import { build, type Metafile } from 'esbuild';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentFootprint, agentBuildOptions, agentFootprint, type Runtime } from '../scripts/agent-bundle.ts';
import { mergeChunks } from '../scripts/chunk-merge.ts';

export interface FootprintResult {
  name: string;
  value: number;
  peers: Record<string, number>;
}

export const TARGETS = { bundle: 120, wasm: 64 };

/** Minified bundle sizes (KB, as `npm run build` makes them) and the ten biggest contributors over all chunks. */
export async function bundleFootprint(): Promise<{ kb: number; fullKb: number; families: Record<string, number>; cycleKb: AgentFootprint['cycleKb']; top: [string, number][] }> {
  // Written to a scratch folder and merged as `npm run build` does (scripts/chunk-merge.ts works on the files).
  const out = await mkdtemp(join(tmpdir(), 'dm-bundle-'));
  let metafile: Metafile;
  try {
    const result = await build({ ...agentBuildOptions, outdir: out, logLevel: 'silent' });
    metafile = (await mergeChunks(result.metafile!)).metafile;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  const groups = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
      const key = module ? `npm:${module}` : input.split('/').slice(0, 2).join('/');
      groups.set(key, (groups.get(key) ?? 0) + bytesInOutput);
    }
  }
  const top = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key, bytes]) => [key, bytes / 1024] as [string, number]);
  const size = agentFootprint(metafile);
  return { kb: size.coreKb, fullKb: size.totalKb, families: size.families, cycleKb: size.cycleKb, top };
}

/** The boards under boards/, the runtime each runs the agent on and what its firmware offers the guest natively. */
async function boards(): Promise<{ name: string; runtime: Runtime; nativeServices: string[] }[]> {
  const names = (await readdir('boards')).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(names.map(async (file) => {
    const board = JSON.parse(await readFile(join('boards', file), 'utf8')) as { name: string; runtime: Runtime; nativeServices?: string[] };
    return { name: board.name, runtime: board.runtime, nativeServices: board.nativeServices ?? [] };
  }));
}

export async function wasmFootprint(dir = 'dist/wasm'): Promise<{ kb: number; modules: [string, number][] }> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.wasm')).sort();
  const modules = await Promise.all(names.map(async (name) => [name, (await stat(join(dir, name))).size / 1024] as [string, number]));
  return { kb: modules.reduce((sum, [, kb]) => sum + kb, 0), modules };
}

export async function benchFootprint(only: Set<string>): Promise<FootprintResult[]> {
  const results: FootprintResult[] = [];
  if (only.has('bundle') || only.has('bundle-full') || only.has('bundle-cycle')) {
    const { kb, fullKb, families, cycleKb, top } = await bundleFootprint();
    console.log(`bundle (minified) ${kb.toFixed(1)} KB loaded by every board, ${fullKb.toFixed(1)} KB with every chunk; each family adds: ${Object.entries(families).map(([name, size]) => `${name} ${size.toFixed(1)}`).join(', ')}`);
    console.log(`biggest contributors: ${top.map(([key, size]) => `${key} ${size.toFixed(1)}`).join(', ')}`);
    if (only.has('bundle')) results.push({ name: 'bundle', value: kb, peers: { target: TARGETS.bundle } });
    if (only.has('bundle-full')) results.push({ name: 'bundle-full', value: fullKb, peers: { target: TARGETS.bundle } });
    if (only.has('bundle-cycle')) {
      for (const { name, runtime, nativeServices } of await boards()) {
        const value = cycleKb(runtime, nativeServices);
        const native = nativeServices.length > 0 ? `, native ${nativeServices.join(' + ')}` : '';
        console.log(`bundle-cycle-${name} (${runtime}${native}): ${value.toFixed(1)} KB loaded by a full cycle (every family, one delta, signed metadata)`);
        results.push({ name: `bundle-cycle-${name}`, value, peers: { bundle: kb, 'bundle-full': fullKb } });
      }
    }
  }
  if (only.has('wasm')) {
    const { kb, modules } = await wasmFootprint();
    console.log(`wasm ${kb.toFixed(1)} KB: ${modules.map(([name, size]) => `${name} ${size.toFixed(1)}`).join(', ')}`);
    results.push({ name: 'wasm', value: kb, peers: { target: TARGETS.wasm } });
  }
  return results;
}
