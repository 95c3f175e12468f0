import type { BuildOptions, Metafile } from 'esbuild';

/**
 * How the portable agent is bundled: the *neutral* platform (no Node built-ins resolve, so a
 * `node:*` import anywhere under agent/ fails the build). Shared by the build and the
 * portability test so both check the same artefact.
 *
 * Syntax ES2022, library ES2020 (agent/tsconfig.json): QuickJS parses class fields and `#private`
 * members natively, and lowering them to ES2020 cost 12 KB of helpers and a WeakMap per private
 * field in the guest heap (537 `__privateGet` calls). The library stays ES2020: no API QuickJS lacks.
 */
export const neutralBundle: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  mainFields: ['module', 'main'],
  conditions: ['import', 'default'],
  metafile: true,
  legalComments: 'none',
};

/** Where the agent's chunks go, under the output folder (the QuickJS host's module loader serves them). */
export const AGENT_CHUNKS_DIR = 'agent-chunks';

/** dist/agent.js as built: minified, split at the families' dynamic imports (agent/families/registry.ts). */
export const agentBuildOptions: BuildOptions = {
  ...neutralBundle,
  entryPoints: { agent: 'agent/index.ts' },
  splitting: true,
  chunkNames: `${AGENT_CHUNKS_DIR}/[name]-[hash]`,
  minify: true,
};

export interface AgentFootprint {
  /** dist/agent.js and the chunks it imports statically: what every board loads (KB). */
  coreKb: number;
  /** Every output file of the agent build (KB): a board running every family. */
  totalKb: number;
  /** What each family adds to the core when the config names it (KB, its dynamic import's closure). */
  families: Record<string, number>;
}

/** Sizes from the build's metafile (JavaScript outputs only; source maps are not stored on a board). */
export function agentFootprint(metafile: Metafile): AgentFootprint {
  const outputs = Object.fromEntries(Object.entries(metafile.outputs).filter(([path]) => path.endsWith('.js')));
  const closure = (start: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(start)) return seen;
    seen.add(start);
    for (const imported of outputs[start]?.imports ?? []) if (imported.kind === 'import-statement') closure(imported.path, seen);
    return seen;
  };
  const kb = (paths: Iterable<string>) => [...paths].reduce((sum, path) => sum + (outputs[path]?.bytes ?? 0), 0) / 1024;
  const entry = Object.keys(outputs).find((path) => outputs[path]!.entryPoint === 'agent/index.ts');
  if (!entry) throw new Error('agent build has no agent/index.ts entry');
  const core = closure(entry);
  const families: Record<string, number> = {};
  for (const [path, output] of Object.entries(outputs)) {
    const family = /^agent\/(\w+)\/family\.ts$/.exec(Object.keys(output.inputs).find((input) => /\/family\.ts$/.test(input) && output.exports.length > 0) ?? '')?.[1];
    if (!family) continue;
    const added = [...closure(path)].filter((p) => !core.has(p));
    families[family] = kb(added);
  }
  return { coreKb: kb(core), totalKb: kb(Object.keys(outputs)), families };
}
