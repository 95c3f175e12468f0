/**
 * Inside QuickJS (dist/agent.js, as a board runs it) the agent imports a family's config module
 * only when the config names the family: the modules the host's loader serves are recorded and
 * mapped to their sources with the build's metafile.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { loadGuestCode } from '../../hal/quickjs/bundle.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));
const meta = JSON.parse(await readFile(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;

// The host's loader asks the (cached) guest code for each module it loads: record the names.
const code = await loadGuestCode();
const served = code.module.bind(code);
let requested: string[] = [];
code.module = (name) => {
  requested.push(name);
  return served(name);
};

const hosts: QuickJsHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.dispose();
});

/** The sources of the modules an agent with `config` loaded in a fresh guest. */
async function sourcesLoaded(config: object): Promise<Set<string>> {
  requested = [];
  const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
  hosts.push(host);
  const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: 'config-chunks' } });
  const agent = await host.start(hardware.boot(), small, { logLevel: 'error', ...config });
  await host.guarded(agent.close());
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
    const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    hosts.push(host);
    const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: 'config-chunks-bad' } });
    await expect(host.start(hardware.boot(), small, { trust: { allowUnsigned: true }, firmware: { idleRebootMs: -1 } })).rejects.toThrow(/invalid agent config: firmware\.idleRebootMs: -1 outside 0\.\./);
  });
});
