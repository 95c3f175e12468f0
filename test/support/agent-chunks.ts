/**
 * Which agent sources load statically with the core and each family, and which stay behind a
 * dynamic `import()` (lazy chunks): from the metafile of the real agent build (not written).
 */
import { build } from 'esbuild';
import { agentBuildOptions } from '../../scripts/agent-bundle.ts';

export interface AgentChunks {
  /** Sources in dist/agent.js and the chunks it imports statically, plus each family's static closure. */
  staticSources: Set<string>;
  /** Source entry of every lazy chunk (e.g. 'agent/pipeline/delta-step.ts'). */
  lazyEntries: Set<string>;
}

export async function agentChunks(): Promise<AgentChunks> {
  const result = await build({ ...agentBuildOptions, outdir: 'dist-chunks-test', write: false, logLevel: 'silent' });
  const outputs = Object.fromEntries(Object.entries(result.metafile!.outputs).filter(([path]) => path.endsWith('.js')));
  const seen = new Set<string>();
  const closure = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imported of outputs[path]?.imports ?? []) if (imported.kind === 'import-statement') closure(imported.path);
  };
  const lazyEntries = new Set<string>();
  for (const [path, output] of Object.entries(outputs)) {
    if (!output.entryPoint) continue;
    if (output.entryPoint === 'agent/index.ts' || /^agent\/\w+\/family\.ts$/.test(output.entryPoint)) closure(path);
    else lazyEntries.add(output.entryPoint);
  }
  const staticSources = new Set<string>();
  for (const path of seen) for (const [input, { bytesInOutput }] of Object.entries(outputs[path]!.inputs)) if (bytesInOutput > 0) staticSources.add(input);
  return { staticSources, lazyEntries };
}
