/**
 * `npm run bench`: every benchmark in one process, peers side by side, medians of interleaved
 * rounds (bench/lib.ts). Prints a table and writes bench/results.json as
 * [{ name, unit, value, peers: { peer: value } }], value and peers in the same unit.
 *
 * Usage: node --import tsx bench/run.ts [--rounds N] [--only sha256,md5,diff,syncml-xml,syncml-wbxml,syncml-encode,download,cold-start,delta-vcdiff,delta-bsdiff,bundle,bundle-full,bundle-cycle,wasm,quickjs-heap,qemu-cycle-arm64,qemu-cycle-armv7,notify-latency,fleet]
 *        [--download-sizes 16,256,1024] (MiB; `download` and `cold-start` need `npm run build` first)
 *        [--fleet-agents 10000] [--notify-samples 200]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadEngines } from '../wasm/index.ts';
import { createNodeWasmHost } from '../wasm/node-host.ts';
import { benchDelta } from './delta.ts';
import { benchDiff } from './diff.ts';
import { benchFootprint } from './footprint.ts';
import { benchQuickJsHeap } from './footprint-quickjs.ts';
import { benchQemu } from './qemu.ts';
import { benchHashes } from './hash.ts';
import { benchSyncml } from './syncml.ts';
import { benchSyncmlEncode } from './syncml-encode.ts';
import { benchDownload } from './download.ts';
import { benchColdStart } from './cold-start.ts';
import { FLEET_TARGET_S } from './fleet.ts';
import { loadBundledFleet } from './fleet-bundle.ts';
import { benchNotifyLatency } from './notify-latency.ts';

interface Result {
  name: string;
  unit: 'MB/s' | 'ms' | 's' | 'MiB' | 'MB' | 'KB';
  value: number;
  peers: Record<string, number>;
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const rounds = Math.max(5, Number(option('rounds') ?? 7));
const only = new Set((option('only') ?? 'sha256,md5,diff,syncml-xml,syncml-wbxml,syncml-encode,download,cold-start,delta-vcdiff,delta-bsdiff,bundle,bundle-full,bundle-cycle,wasm,quickjs-heap,qemu-cycle-arm64,qemu-cycle-armv7,notify-latency,fleet').split(','));

const wasm = await loadEngines({ wasm: createNodeWasmHost(), engine: 'wasm' });
const scalar = await loadEngines({ wasm: createNodeWasmHost({ unavailable: ['hash'] }), engine: 'wasm' });
const js = await loadEngines({ engine: 'js' });

const results: Result[] = [];
if (only.has('sha256') || only.has('md5')) {
  for (const r of await benchHashes({ wasm, scalar, js }, rounds)) if (only.has(r.name)) results.push({ ...r, unit: 'MB/s' });
}
if (only.has('diff')) {
  for (const r of benchDiff({ wasm, js }, rounds)) results.push({ ...r, unit: 'ms' });
}
for (const r of benchSyncml({ wasm, js }, rounds, only)) results.push({ ...r, unit: 'MB/s' });
if (only.has('syncml-encode')) for (const r of benchSyncmlEncode(js, rounds)) results.push({ ...r, unit: 'MB/s' });
if (only.has('delta-vcdiff') || only.has('delta-bsdiff')) results.push(...(await benchDelta({ wasm, js }, rounds, only)));

// Footprint: sizes, not speeds (peer `target`: the budget; smaller is better, like ms).
for (const r of await benchFootprint(only)) results.push({ ...r, unit: 'KB' });
if (only.has('quickjs-heap')) for (const r of await benchQuickJsHeap()) results.push({ ...r, unit: 'KB' });
// QEMU cycles are tens of seconds each: three rounds whatever --rounds says.
for (const r of await benchQemu(only, 3)) results.push({ ...r, unit: 's' });

if (only.has('download')) {
  for (const mib of (option('download-sizes') ?? '16,256,1024').split(',').map(Number)) {
    // A 1 GiB round takes tens of seconds per contender on this shared machine: fewer rounds.
    const sizeRounds = mib >= 1024 ? Math.min(rounds, 3) : Math.min(rounds, 5);
    results.push(...(await benchDownload(mib * 1024 * 1024, sizeRounds, (line) => console.log(line))));
  }
}
if (only.has('cold-start')) results.push(...(await benchColdStart(rounds)));
// Push (issue 16): p99 with p50 as its peer, and the fleet's wake-up time with RSS per agent (KB).
if (only.has('notify-latency')) results.push({ ...(await benchNotifyLatency(Number(option('notify-samples') ?? 200))), unit: 'ms' });
if (only.has('fleet')) {
  const runFleet = await loadBundledFleet();
  const fleet = await runFleet({ agents: Number(option('fleet-agents') ?? 10_000), log: (line) => console.log(line) });
  results.push({ name: `fleet-${fleet.agents}`, unit: 's', value: fleet.wakeSeconds, peers: { target: FLEET_TARGET_S } });
  results.push({ name: 'fleet-rss-per-agent', unit: 'KB', value: fleet.rssPerAgentKiB * 1.024, peers: {} });
  // CPU seconds of this process (not the broker's): the fairer number on a shared machine.
  results.push({ name: `fleet-${fleet.agents}-cpu`, unit: 's', value: fleet.wakeCpuSeconds, peers: {} });
  results.push({ name: `fleet-${fleet.agents}-start`, unit: 's', value: fleet.startSeconds, peers: {} });
  results.push({ name: `fleet-${fleet.agents}-start-cpu`, unit: 's', value: fleet.startCpuSeconds, peers: {} });
}

// Table: ratio > 1 means ours is better (faster MB/s, or fewer ms / s / MiB).
const lines: string[] = [];
const pad = (s: string, n: number) => s.padEnd(n);
lines.push(`${pad('benchmark', 28)}${pad('contender', 27)}${pad('value', 14)}ours vs it`);
for (const r of results) {
  const format = (v: number) => `${v.toFixed(r.unit === 'ms' ? 1 : r.unit === 'MB/s' ? 0 : 2)} ${r.unit}`;
  lines.push(`${pad(r.name, 28)}${pad('ours', 27)}${pad(format(r.value), 14)}`);
  for (const [peer, value] of Object.entries(r.peers)) {
    const ratio = r.unit === 'MB/s' ? r.value / value : value / r.value;
    lines.push(`${pad('', 28)}${pad(peer, 27)}${pad(format(value), 14)}${ratio.toFixed(2)}×`);
  }
}
console.log(`median of ${rounds} interleaved rounds (download: at most 5, 3 at 1 GiB) (node ${process.version})`);
console.log(lines.join('\n'));

const out = fileURLToPath(new URL('./results.json', import.meta.url));
const rounded = results.map((r) => ({
  name: r.name,
  unit: r.unit,
  value: Number(r.value.toFixed(2)),
  peers: Object.fromEntries(Object.entries(r.peers).map(([k, v]) => [k, Number(v.toFixed(2))])),
}));
writeFileSync(out, `${JSON.stringify(rounded, null, 2)}\n`);
console.log(`wrote ${out}`);
