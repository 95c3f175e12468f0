/**
 * Footprint benchmarks: `bundle` (KB, dist/agent.js minified: what a board stores) and `wasm` (KB,
 * every module under dist/wasm), against their targets as peers; plus what dominates the bundle
 * (esbuild metafile, bytes in the minified output by package / agent folder), printed.
 */
import { build } from 'esbuild';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { neutralBundle } from '../scripts/agent-bundle.ts';

export interface FootprintResult {
  name: string;
  value: number;
  peers: Record<string, number>;
}

export const TARGETS = { bundle: 120, wasm: 64 };

/** Minified bundle size and the ten biggest contributors (KB). */
export async function bundleFootprint(): Promise<{ kb: number; top: [string, number][] }> {
  const result = await build({ ...neutralBundle, entryPoints: ['agent/index.ts'], minify: true, write: false, logLevel: 'silent' });
  const output = Object.values(result.metafile!.outputs)[0]!;
  const groups = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
    const key = module ? `npm:${module}` : input.split('/').slice(0, 2).join('/');
    groups.set(key, (groups.get(key) ?? 0) + bytesInOutput);
  }
  const top = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key, bytes]) => [key, bytes / 1024] as [string, number]);
  return { kb: result.outputFiles![0]!.contents.byteLength / 1024, top };
}

export async function wasmFootprint(dir = 'dist/wasm'): Promise<{ kb: number; modules: [string, number][] }> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.wasm')).sort();
  const modules = await Promise.all(names.map(async (name) => [name, (await stat(join(dir, name))).size / 1024] as [string, number]));
  return { kb: modules.reduce((sum, [, kb]) => sum + kb, 0), modules };
}

export async function benchFootprint(only: Set<string>): Promise<FootprintResult[]> {
  const results: FootprintResult[] = [];
  if (only.has('bundle')) {
    const { kb, top } = await bundleFootprint();
    console.log(`bundle (minified) ${kb.toFixed(1)} KB; biggest contributors: ${top.map(([key, size]) => `${key} ${size.toFixed(1)}`).join(', ')}`);
    results.push({ name: 'bundle', value: kb, peers: { target: TARGETS.bundle } });
  }
  if (only.has('wasm')) {
    const { kb, modules } = await wasmFootprint();
    console.log(`wasm ${kb.toFixed(1)} KB: ${modules.map(([name, size]) => `${name} ${size.toFixed(1)}`).join(', ')}`);
    results.push({ name: 'wasm', value: kb, peers: { target: TARGETS.wasm } });
  }
  return results;
}
