/**
 * Inside QuickJS (dist/agent.js, as a board runs it) the agent imports a family's config module
 * only when the config names the family: the modules the host's loader serves are recorded and
 * mapped to their sources with the build's metafile.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { guestModules } from '../support/guest-modules.ts';

const meta = JSON.parse(await readFile(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
const { code, modulesLoaded } = await guestModules();

/** The sources of the modules an agent with `config` loaded in a fresh guest. */
async function sourcesLoaded(config: object): Promise<Set<string>> {
  const requested = await modulesLoaded(config, 'config-chunks');
  expect(requested).toContain(code.entry);
  return new Set(requested.flatMap((name) => Object.keys(meta.outputs[`dist/${name}`]?.inputs ?? {})));
}

const familyOnly = ['agent/delivery/config.ts', 'agent/firmware/config.ts', 'agent/omadm/config.ts', 'agent/families/download-config.ts', 'agent/firmware/messages.ts', 'agent/delivery/redirect.ts'];

describe('family config chunks in QuickJS', () => {
  it('an agent without a family loads no family config module', async () => {
    const loaded = await sourcesLoaded({});
    expect(loaded.has('agent/config-base.ts')).toBe(true);
    for (const source of familyOnly) expect(loaded.has(source), source).toBe(false);
  });

  it("the delivery family's config loads with it, and no other family's", async () => {
    const loaded = await sourcesLoaded({ trust: { allowUnsigned: true }, delivery: { manager: 'https://manager.invalid', deviceAuth: false } });
    expect(loaded.has('agent/delivery/config.ts')).toBe(true);
    expect(loaded.has('agent/delivery/family.ts')).toBe(true);
    for (const source of ['agent/firmware/config.ts', 'agent/omadm/config.ts', 'agent/firmware/messages.ts', 'agent/families/download-config.ts']) expect(loaded.has(source), source).toBe(false);
  });

  it('a bad family section is refused at start with the same message as on Node', async () => {
    const start = modulesLoaded({ trust: { allowUnsigned: true }, firmware: { idleRebootMs: -1 } }, 'config-chunks-bad');
    await expect(start).rejects.toThrow(/invalid agent config: firmware\.idleRebootMs: -1 outside 0\.\./);
  });
});
