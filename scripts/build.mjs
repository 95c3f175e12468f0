// Bundles the portable agent (dist/agent.js: ES2020, no Node built-ins, the artefact QuickJS and
// small boards run) and the Node CLI (dist/cli.js). The agent bundle is built for the *neutral*
// platform, so a `node:*` import anywhere under agent/ fails the build here already; the
// portability test (test/portability.test.ts) also checks which files went in.
import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';

await mkdir('dist', { recursive: true });

const agent = await build({
  entryPoints: ['agent/index.ts'],
  outfile: 'dist/agent.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  mainFields: ['module', 'main'],
  conditions: ['import', 'default'],
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await writeFile('dist/agent.meta.json', JSON.stringify(agent.metafile));

await build({
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});

const bytes = (await import('node:fs')).statSync('dist/agent.js').size;
console.log(`built dist/agent.js (${(bytes / 1024).toFixed(1)} KiB, ES2020, neutral) and dist/cli.js`);
