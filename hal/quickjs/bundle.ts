/**
 * What the QuickJS host evaluates: dist/agent.js (the artefact boards run, built by
 * `npm run build`) as the module 'dm-agent', the chunks it imports (dist/agent-chunks/: the
 * families and the delta readers, loaded when the agent asks for them), and the guest bridge
 * (./guest.ts) bundled so that its agent import resolves to that module rather than to a second
 * copy of the agent.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_CHUNKS_DIR, neutralBundle } from '../../scripts/agent-bundle.ts';

export interface GuestCode {
  guest: string;
  /** Module name of the agent entry (its file name in the build folder). */
  entry: string;
  /** Source of an agent module by its name in the build folder, or undefined (not one of ours). */
  module(name: string): string | undefined;
}

const root = new URL('../../', import.meta.url);
const cache = new Map<string, Promise<GuestCode>>();

export function loadGuestCode(agentPath = fileURLToPath(new URL('dist/agent.js', root))): Promise<GuestCode> {
  let pending = cache.get(agentPath);
  if (!pending) {
    pending = load(agentPath);
    cache.set(agentPath, pending);
  }
  return pending;
}

async function load(agentPath: string): Promise<GuestCode> {
  const dir = dirname(agentPath);
  const entry = basename(agentPath);
  const sources = new Map<string, string>([[entry, await readFile(agentPath, 'utf8')]]);
  const result = await build({
    ...neutralBundle,
    entryPoints: [fileURLToPath(new URL('hal/quickjs/guest.ts', root))],
    // Minified like the agent's own build: the bridge's code lives in the same guest heap (~0.4 KiB).
    minify: true,
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'dm-agent-external',
        setup(b) {
          b.onResolve({ filter: /agent\/index\.ts$/ }, () => ({ path: 'dm-agent', external: true }));
        },
      },
    ],
  });
  const chunk = new RegExp(`^${AGENT_CHUNKS_DIR}/[\\w-]+\\.js$`);
  return {
    guest: result.outputFiles![0]!.text,
    entry,
    module(name) {
      if (name !== entry && !chunk.test(name)) return undefined;
      let source = sources.get(name);
      if (source === undefined) {
        // Synchronous: the sync QuickJS build calls the loader in the middle of an import.
        source = readFileSync(join(dir, name), 'utf8');
        sources.set(name, source);
      }
      return source;
    },
  };
}

/**
 * A module's dynamic imports of its sibling chunks, routed through the global `__dmImport` with
 * the chunk's full name. QuickJS resolves `import()` against the file name in the calling
 * function's debug info, which code compiled without debug info (strip mode 'debug') no longer
 * has; `__dmImport` is compiled with it (see ./host.ts). `rest` is true when the module still
 * calls `import(` some other way, and so must keep its debug info.
 */
export function routeDynamicImports(name: string, source: string): { source: string; rest: boolean } {
  const routed = source.replace(/\bimport\((["'])(\.\.?\/[^"'\\]+)\1\)/g, (_, quote: string, specifier: string) => `__dmImport(${quote}${posix.normalize(posix.join(posix.dirname(name), specifier))}${quote})`);
  return { source: routed, rest: /\bimport\s*\(/.test(routed) };
}

/** Module names as the guest's imports mean them: 'dm-agent' is the entry, relative names resolve against the importer. */
export function normaliseModuleName(code: GuestCode, base: string, requested: string): string {
  if (requested === 'dm-agent') return code.entry;
  if (!requested.startsWith('./') && !requested.startsWith('../')) return requested;
  return posix.normalize(posix.join(posix.dirname(base), requested));
}
