/**
 * dist/agent.js as `npm run build` leaves it, after the chunk merge (scripts/chunk-merge.ts): the
 * code every board loads is one module in the QuickJS guest, and a family's cycle loads only the
 * modules of the chunks it needs (their sources are the ones the split build's closure has).
 */
import { readFile } from 'node:fs/promises';
import type { Metafile } from 'esbuild';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { loadGuestCode } from '../../hal/quickjs/bundle.ts';
import { agentChunks } from '../support/agent-chunks.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));
const meta = JSON.parse(await readFile(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;

const code = await loadGuestCode();
const served = code.module.bind(code);
let requested: string[] = [];
code.module = (name) => {
  requested.push(name);
  return served(name);
};
afterAll(() => {
  code.module = served;
});
const hosts: QuickJsHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.dispose();
});

async function modulesLoaded(config: object): Promise<string[]> {
  requested = [];
  const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
  hosts.push(host);
  const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: 'chunk-merge' } });
  const agent = await host.start(hardware.boot(), small, { logLevel: 'error', ...config });
  await host.guarded(agent.close());
  return [...new Set(requested)];
}
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
