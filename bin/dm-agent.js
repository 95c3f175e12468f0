#!/usr/bin/env node
// Thin launcher: the CLI is bundled to dist/cli.js by `npm run build` (npm start and npm test build first).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's code cache for the bundle's chunks (Node >= 22.1; absent on Node 20, where this is a
// no-op): a later start skips compiling what an earlier one compiled (issue 12, cold start).
module.enableCompileCache?.();

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('dm-agent: dist/cli.js is missing; run `npm run build` first\n');
  process.exit(2);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv.slice(2));
