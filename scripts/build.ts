// Bundles the portable agent (dist/agent.js: the artefact QuickJS and small boards run) and the
// Node CLI (dist/cli.js). The portability test (test/portability.test.ts) checks which files
// went into the agent bundle and runs it inside QuickJS.
import { build, type Plugin } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { AGENT_CHUNKS_DIR, agentBuildOptions, agentFootprint } from './agent-bundle.ts';
import { mergeChunks } from './chunk-merge.ts';

await mkdir('dist', { recursive: true });
await rm(`dist/${AGENT_CHUNKS_DIR}`, { recursive: true, force: true });
await rm('dist/chunks', { recursive: true, force: true }); // the CLI's chunks: names change with their content

// Minified (a board stores it and QuickJS keeps every function's source text in its heap), with
// a source map next to it for stack traces; each family is a chunk loaded when the config names it.
const agent = await build({ ...agentBuildOptions, outdir: 'dist', sourcemap: 'linked', logLevel: 'warning' });
// Then the chunks always loaded together become one module each (in QuickJS every module costs heap
// of its own); the metafile written describes the merged modules (their inputs: their chunks').
const merged = await mergeChunks(agent.metafile!, { sourcemap: true });
await writeFile('dist/agent.meta.json', JSON.stringify(merged.metafile));

// Packages stay external (node_modules), except the pure-JS @noble ones, which are bundled so that
// esbuild drops what the agent never calls: importing @noble/curves/ed25519.js from node_modules
// evaluates FROST, ristretto255, OPRF, x25519 and hash-to-curve too, 60–100 ms of every start,
// before a single signature is checked (issue 12, cold start).
const externalPackagesButNoble: Plugin = {
  name: 'external-packages-but-noble',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@noble/') ? undefined : { path: args.path, external: true }));
  },
};

// Split at every dynamic import: each command (and mqtt.js, loaded on the first MQTT connect)
// is its own chunk, so `dm-agent --help` loads no mqtt (issue 12: 230 → ~80 ms).
await build({
  entryPoints: { cli: 'cli/main.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [externalPackagesButNoble],
  sourcemap: 'linked',
  logLevel: 'warning',
});

const size = agentFootprint(merged.metafile);
console.log(`built dist/agent.js (${size.coreKb.toFixed(1)} KB with the chunks every board loads, ${size.totalKb.toFixed(1)} KB with every family; minified, ES2022 syntax, neutral platform; ${merged.before} chunks merged into ${merged.after} modules) and dist/cli.js`);
