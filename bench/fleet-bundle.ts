/**
 * The fleet simulation runs from an esbuild bundle of bench/fleet.ts (agent, mock HAL, manager),
 * the way dist/cli.js ships, not from the TypeScript sources through tsx: tsx compiles with
 * `keepNames`, which wraps every function a module creates at run time in `__name(fn, "…")`, and
 * each such closure then carries its own property store (~250 bytes). An agent creates some 70 of
 * them (facets, listeners, callbacks), 10 000 agents ~180 MB of heap and the GC work over it —
 * a cost of the TypeScript loader, not of the agent. `--from-source` (scripts/fleet.ts) measures
 * the tsx path for comparison. Dependencies stay external (the bundle sits under node_modules/.cache
 * so that they resolve as usual).
 */
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { runFleet } from './fleet.ts';

const CACHE = new URL('../node_modules/.cache/dm-fleet/', import.meta.url);

export async function loadBundledFleet(): Promise<typeof runFleet> {
  await mkdir(CACHE, { recursive: true });
  const outfile = fileURLToPath(new URL('fleet.mjs', CACHE));
  await build({
    entryPoints: [fileURLToPath(new URL('./fleet.ts', import.meta.url))],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // Not minified, with a source map inline: CPU profiles (--cpu-prof) name our functions and lines.
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  const bundled = (await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`)) as { runFleet: typeof runFleet };
  return bundled.runFleet;
}
