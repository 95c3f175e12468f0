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
  /** What a full cycle loads on each runtime (KB): the core, every family, one delta, and the runtime's lazy engines. */
  cycles: Record<Runtime, number>;
  /** What a full cycle loads on a board of that runtime that declares these native services (KB). */
  cycleKb(runtime: Runtime, nativeServices?: readonly string[]): number;
}

export type Runtime = 'node' | 'quickjs';

/**
 * The lazy chunks a full cycle (every family, one delta, signed metadata and device auth as a
 * production config has them; no push channel) loads besides the families: the pipeline's delta
 * stage, and by what the runtime's HAL offers: the Node HAL verifies signatures and hashes
 * natively and runs WASM (the WASM drivers and the native-hashing wrapper); the QuickJS guest
 * without native services has neither WebAssembly nor a native verifier, so it loads the JS
 * engines, the JS delta decoder and the JS signature verifier. Both load signed metadata (TUF) and the canonical-JSON writer of the device's auth request, and an
 * OMA DM session the SyncML encoder of its encoding (XML by default). Named by source entry; a
 * renamed one fails here.
 */
/**
 * The fallback chunks a board's declared native services (`nativeServices` in its profile) make
 * unnecessary: the guest hashes/tokenizes with the host's engines and verifies with the host's
 * verifier instead of loading its own JS ones.
 */
export const NATIVE_SERVICE_CHUNKS: Record<string, readonly string[]> = {
  engines: ['wasm/src/engines-js.ts'],
  signatures: ['agent/trust/verify-js.ts'],
};

export const CYCLE_CHUNKS: Record<Runtime, readonly string[]> = {
  node: ['wasm/src/engines-wasm.ts', 'wasm/src/native.ts', 'agent/trust/signed.ts', 'agent/trust/canonical-json.ts', 'agent/transport/device-token.ts', 'agent/pipeline/delta-step.ts', 'wasm/src/delta-apply.ts', 'wasm/src/delta-wasm.ts', 'agent/syncml/xml-sink.ts'],
  quickjs: ['agent/trust/signed.ts', 'agent/trust/canonical-json.ts', 'agent/transport/device-token.ts', 'agent/pipeline/delta-step.ts', 'wasm/src/delta-apply.ts', 'wasm/src/engines-js.ts', 'wasm/src/vcdiff-js.ts', 'agent/trust/verify-js.ts', 'agent/syncml/xml-sink.ts'],
};

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
  const familyChunks: string[] = [];
  for (const [path, output] of Object.entries(outputs)) {
    const family = /^agent\/(\w+)\/family\.ts$/.exec(Object.keys(output.inputs).find((input) => /\/family\.ts$/.test(input) && output.exports.length > 0) ?? '')?.[1];
    if (!family) continue;
    familyChunks.push(path);
    const added = [...closure(path)].filter((p) => !core.has(p));
    families[family] = kb(added);
  }
  const byEntry = (source: string) => {
    const path = Object.keys(outputs).find((p) => outputs[p]!.entryPoint === source);
    if (!path) throw new Error(`agent build has no chunk for ${source} (scripts/agent-bundle.ts CYCLE_CHUNKS)`);
    return path;
  };
  const cycle = (runtime: Runtime, nativeServices: readonly string[] = []) => {
    const replaced = new Set(nativeServices.flatMap((service) => NATIVE_SERVICE_CHUNKS[service] ?? []));
    const loaded = new Set(core);
    for (const start of [...familyChunks, ...CYCLE_CHUNKS[runtime].filter((source) => !replaced.has(source)).map(byEntry)]) closure(start, loaded);
    return kb(loaded);
  };
  return { coreKb: kb(core), totalKb: kb(Object.keys(outputs)), families, cycles: { node: cycle('node'), quickjs: cycle('quickjs') }, cycleKb: cycle };
}
