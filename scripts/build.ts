// Bundles the portable agent (dist/agent.js: the artefact QuickJS and small boards run) and the
// Node CLI (dist/cli.js). The portability test (test/portability.test.ts) checks which files
// went into the agent bundle and runs it inside QuickJS.
import { build } from 'esbuild';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { neutralBundle } from './agent-bundle.ts';

await mkdir('dist', { recursive: true });

const agent = await build({ ...neutralBundle, entryPoints: ['agent/index.ts'], outfile: 'dist/agent.js', logLevel: 'warning' });
await writeFile('dist/agent.meta.json', JSON.stringify(agent.metafile));

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
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});

const bytes = (await stat('dist/agent.js')).size;
console.log(`built dist/agent.js (${(bytes / 1024).toFixed(1)} KiB, ES2020, neutral platform) and dist/cli.js`);
