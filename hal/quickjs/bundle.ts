/**
 * What the QuickJS host evaluates: dist/agent.js (the artefact boards run, built by
 * `npm run build`) as the module 'dm-agent', and the guest bridge (./guest.ts) bundled so that its
 * agent import resolves to that module rather than to a second copy of the agent.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { neutralBundle } from '../../scripts/agent-bundle.ts';

export interface GuestCode {
  agent: string;
  guest: string;
}

const root = new URL('../../', import.meta.url);
let cached: Promise<GuestCode> | undefined;

export function loadGuestCode(agentPath = fileURLToPath(new URL('dist/agent.js', root))): Promise<GuestCode> {
  cached ??= (async () => {
    const agent = await readFile(agentPath, 'utf8');
    const result = await build({
      ...neutralBundle,
      entryPoints: [fileURLToPath(new URL('hal/quickjs/guest.ts', root))],
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
    return { agent, guest: result.outputFiles![0]!.text };
  })();
  return cached;
}
