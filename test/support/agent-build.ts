/**
 * The agent build's module graph as esbuild recorded it (dist/agent.meta.json, written by
 * `npm run build`): which output files the core (dist/agent.js and its static imports) and each
 * dynamic chunk reach, and which source modules they hold. For the tests that check what a board loads.
 */
import { readFile } from 'node:fs/promises';
import type { Metafile } from 'esbuild';

const meta: Metafile = JSON.parse(await readFile(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8'));
/** The JavaScript outputs (source maps left out), by output path. */
export const outputs = Object.fromEntries(Object.entries(meta.outputs).filter(([path]) => path.endsWith('.js')));
/** The output path of dist/agent.js. */
export const entry = Object.keys(outputs).find((path) => outputs[path]!.entryPoint === 'agent/index.ts')!;

/** Output files reachable from `start` by static imports. */
export function closure(start: string, seen = new Set<string>()): Set<string> {
  if (seen.has(start)) return seen;
  seen.add(start);
  for (const imported of outputs[start]?.imports ?? []) if (imported.kind === 'import-statement') closure(imported.path, seen);
  return seen;
}

/** The source modules in these output files. */
export const sources = (files: Iterable<string>): string[] => [...files].flatMap((file) => Object.keys(outputs[file]?.inputs ?? {}));

/** The output file of a dynamic import's chunk, by its source entry. */
export function chunkOf(source: string): string {
  const path = Object.keys(outputs).find((p) => outputs[p]!.entryPoint === source);
  if (!path) throw new Error(`no chunk for ${source}`);
  return path;
}

/** The folder of the outputs (module names are relative to it). */
export const outDir = entry.slice(0, entry.lastIndexOf('/') + 1);
/** Output path (dist/agent-chunks/x.js) → module name as the guest's loader is asked for it (agent-chunks/x.js). */
export const moduleName = (path: string): string => path.slice(outDir.length);
