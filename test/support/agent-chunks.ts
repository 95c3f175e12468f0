/**
 * Which agent sources load statically with the core and each family, and which stay behind a
 * dynamic `import()` (lazy chunks): from the metafile of the real agent build (not written).
 */
import { build } from 'esbuild';
import { agentBuildOptions } from '../../scripts/agent-bundle.ts';

export interface AgentChunks {
  /** Sources in dist/agent.js and the chunks it imports statically, plus each family's static closure. */
  staticSources: Set<string>;
  /** Per family (delivery, firmware, omadm): the sources a board with only that family loads statically (the core included). */
  familySources: Record<string, Set<string>>;
  /** Source entry of every lazy chunk (e.g. 'agent/pipeline/delta-step.ts'). */
  lazyEntries: Set<string>;
}

export async function agentChunks(): Promise<AgentChunks> {
  const result = await build({ ...agentBuildOptions, outdir: 'dist-chunks-test', write: false, logLevel: 'silent' });
  const outputs = Object.fromEntries(Object.entries(result.metafile!.outputs).filter(([path]) => path.endsWith('.js')));
  const closure = (starts: string[]) => {
    const seen = new Set<string>();
    const walk = (path: string) => {
      if (seen.has(path)) return;
      seen.add(path);
      for (const imported of outputs[path]?.imports ?? []) if (imported.kind === 'import-statement') walk(imported.path);
    };
    starts.forEach(walk);
    const sources = new Set<string>();
    for (const path of seen) for (const [input, { bytesInOutput }] of Object.entries(outputs[path]!.inputs)) if (bytesInOutput > 0) sources.add(input);
    return sources;
  };
  const lazyEntries = new Set<string>();
  const families: Record<string, string> = {};
  let core = '';
  for (const [path, output] of Object.entries(outputs)) {
    const family = /^agent\/(\w+)\/family\.ts$/.exec(output.entryPoint ?? '')?.[1];
    if (output.entryPoint === 'agent/index.ts') core = path;
    else if (family) families[family] = path;
    else if (output.entryPoint) lazyEntries.add(output.entryPoint);
  }
  const familySources = Object.fromEntries(Object.entries(families).map(([name, path]) => [name, closure([core, path])]));
  return { staticSources: closure([core, ...Object.values(families)]), familySources, lazyEntries };
}
