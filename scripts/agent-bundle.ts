import type { BuildOptions } from 'esbuild';

/**
 * How the portable agent is bundled: ES2020, the *neutral* platform (no Node built-ins resolve,
 * so a `node:*` import anywhere under agent/ fails the build). Shared by the build and the
 * portability test so both check the same artefact.
 */
export const neutralBundle: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  mainFields: ['module', 'main'],
  conditions: ['import', 'default'],
  metafile: true,
  legalComments: 'none',
};
