#!/usr/bin/env node
// Thin launcher: the CLI is bundled to dist/cli.js by `npm run build` (npm start and npm test build first).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('dm-agent: dist/cli.js is missing; run `npm run build` first\n');
  process.exit(2);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv.slice(2));
