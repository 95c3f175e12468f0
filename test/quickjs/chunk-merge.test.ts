/**
 * dist/agent.js as `npm run build` leaves it, after the chunk merge (scripts/chunk-merge.ts): the
 * code every board loads is one module in the QuickJS guest, and a family's cycle loads only the
 * modules of the chunks it needs (their sources are the ones the split build's closure has).
 */
import { readFile } from 'node:fs/promises';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { agentChunks } from '../support/agent-chunks.ts';
import { guestModules } from '../support/guest-modules.ts';

const meta = JSON.parse(await readFile(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
const { code, modulesLoaded } = await guestModules();
const sourcesOf = (modules: string[]) => new Set(modules.flatMap((name) => Object.entries(meta.outputs[`dist/${name}`]?.inputs ?? {}).filter(([, { bytesInOutput }]) => bytesInOutput > 0).map(([input]) => input)));

describe('the merged build in QuickJS', () => {
  it('an agent without a family loads one module: the core is dist/agent.js alone', async () => {
    expect(await modulesLoaded({})).toEqual([code.entry]);
  });

  it("the delivery family's start loads the sources of the split build's closure, in fewer modules than it had chunks", async () => {
    const modules = await modulesLoaded({ trust: { allowUnsigned: true }, delivery: { manager: 'https://manager.invalid', deviceAuth: false } });
    const split = await agentChunks();
    const loaded = sourcesOf(modules);
    for (const source of split.familySources.delivery!) expect(loaded.has(source), source).toBe(true);
    expect(loaded.has('agent/omadm/family.ts')).toBe(false);
    expect(loaded.has('agent/firmware/family.ts')).toBe(false);
    expect(modules.length).toBeLessThan(12);
  });
});
