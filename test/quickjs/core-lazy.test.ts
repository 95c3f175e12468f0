/**
 * Parts of the agent's core that a start or a normal cycle of many boards never runs are chunks
 * loaded at first use: the roaming tracker (only a family that roams, the pull-model one, needs
 * it), the engine picker (wasm/load.ts: only when the host offers no engines of its own), the
 * reader of the store's old on-flash format 1 (only for a store area still in that format) and the
 * scheduler's loops with the schedule rules (only `agent.run()`: a host that drives the agent by
 * `trigger()`/`pollOnce()`, as the QuickJS guest does, never runs them).
 * Checked in the build's module graph (dist/agent.meta.json) and in the QuickJS guest, by the
 * modules its loader is asked for, with a config/medium that needs each chunk and one that does not.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { loadGuestCode } from '../../hal/quickjs/bundle.ts';
import { encodeAreaHeader, FORMAT_V1 } from '../../agent/store/format.ts';
import { createAgent } from '../../agent/index.ts';
import { chunkOf as outputChunkOf, closure, entry, moduleName, outputs, sources } from '../support/agent-build.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));
/** The guest's module name of the chunk a dynamic import of `source` loads. */
const chunkOf = (source: string) => moduleName(outputChunkOf(source));

const LAZY = ['agent/roaming/tracker.ts', 'wasm/load.ts', 'agent/store/format-v1.ts', 'agent/families/scheduler-loop.ts'];

describe('the core of the build', () => {
  it('holds neither the roaming tracker, the engine picker, the format-1 reader nor the scheduler loops; each is a chunk of its own', () => {
    const core = sources(closure(entry));
    for (const source of LAZY) {
      expect(core, source).not.toContain(source);
      expect(chunkOf(source), source).toMatch(/\.js$/);
    }
    // The schedule rules come with the loops (a family's config needs only the schedule's types and constants).
    expect(core).not.toContain('agent/families/schedule-rules.ts');
    expect(sources(closure(outputChunkOf('agent/families/scheduler-loop.ts'), new Set(closure(entry))))).toContain('agent/families/schedule-rules.ts');
  });

  it('the OMA DM family (its package #0 topic) carries no push config schema: the topics are a module of their own', () => {
    const omadm = Object.keys(outputs).find((p) => outputs[p]!.entryPoint === 'agent/omadm/family.ts')!;
    expect(sources(closure(omadm, new Set(closure(entry))))).not.toContain('agent/push/config.ts');
  });
});

describe('the QuickJS guest loads them only when needed', () => {
  /** Starts and closes an agent in a fresh guest; its boot report and the modules the guest's loader was asked for. */
  async function start(id: string, config: Record<string, unknown>, options: { offer?: { engines: false }; prepare?: (hardware: MockHardware) => void } = {}) {
    const code = await loadGuestCode(); // cached: every module the host serves goes through code.module
    const serve = code.module.bind(code);
    const modules = new Set<string>();
    code.module = (name) => (modules.add(name), serve(name));
    const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    try {
      const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: id } });
      options.prepare?.(hardware);
      const agent = await host.start(hardware.boot(), small, { logLevel: 'error', trust: { allowUnsigned: true }, ...config }, options.offer);
      const boot = agent.boot;
      await host.guarded(agent.close());
      return { boot, modules: [...modules] };
    } finally {
      code.module = serve;
      host.dispose();
    }
  }
  const delivery = { manager: 'https://manager.invalid', deviceAuth: false };
  const firmware = { service: { internal: 'https://in.test/u', external: 'https://ex.test/u' } };

  it('a family that does not roam: no tracker; the pull-model family: the tracker, and agent.roaming', async () => {
    const fw = await start('core-lazy-fw', { firmware });
    expect(fw.modules).not.toContain(chunkOf('agent/roaming/tracker.ts'));
    expect(fw.modules).not.toContain(chunkOf('agent/families/scheduler-loop.ts')); // started and closed: never run()
    const pull = await start('core-lazy-pull', { delivery });
    expect(pull.modules).toContain(chunkOf('agent/roaming/tracker.ts'));
  }, 60_000);

  it('host engines: no engine picker; the guest on its own engines: the picker and the JS engines', async () => {
    const hosted = await start('core-lazy-hosted', { firmware });
    expect(hosted.modules).not.toContain(chunkOf('wasm/load.ts'));
    const own = await start('core-lazy-js', { firmware }, { offer: { engines: false } });
    expect(own.boot.engine).toBe('js');
    expect(own.modules).toEqual(expect.arrayContaining([chunkOf('wasm/load.ts'), chunkOf('wasm/src/engines-js.ts')]));
  }, 60_000);

  it('a blank store does not load the format-1 reader; a store area in format 1 does, and opens', async () => {
    const blank = await start('core-lazy-blank', { firmware });
    expect(blank.boot.fresh).toBe(true);
    expect(blank.modules).not.toContain(chunkOf('agent/store/format-v1.ts'));
    const areaLength = (small.partitions.find((p: { name: string }) => p.name === 'state').size as number) / 2;
    const legacy = await start('core-lazy-v1', { firmware }, { prepare: (hardware) => hardware.flashMemory.cells.get('state')!.set(encodeAreaHeader(7, areaLength, FORMAT_V1)) });
    expect(legacy.boot.fresh).toBe(false);
    expect(legacy.modules).toContain(chunkOf('agent/store/format-v1.ts'));
  }, 60_000);
});

describe('on Node (same code, the chunks are plain dynamic imports)', () => {
  const start = async (id: string, config: Record<string, unknown>, prepare?: (hardware: MockHardware) => void) => {
    const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: id } });
    prepare?.(hardware);
    return createAgent(hardware.boot(), small, { logLevel: 'error', trust: { allowUnsigned: true }, ...config });
  };

  it('agent.roaming exists with the pull-model family only, and reads the persisted state', async () => {
    const fw = await start('core-lazy-node-fw', { firmware: { service: { internal: 'https://in.test/u', external: 'https://ex.test/u' } } });
    expect(fw.roaming).toBeUndefined();
    await fw.close();
    const pull = await start('core-lazy-node-pull', { delivery: { manager: 'https://manager.invalid', deviceAuth: false } });
    expect(pull.roaming?.state()).toEqual({ previousManagers: {}, connections: 0, history: [] });
    await pull.close();
  });

  it('agent.run() loads the scheduler loops and runs a family on its boot schedule; stop() ends it', async () => {
    const events: { family: string; kind: string }[] = [];
    const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: 'core-lazy-node-run' } });
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: { internal: 'https://in.test/u', external: 'https://ex.test/u' } } };
    const agent = await createAgent(hardware.boot(), small, config, { onFamilyEvent: (event) => events.push(event) });
    expect(await agent.trigger('firmware', 'manual')).toBeDefined(); // no loop yet: the caller runs it at once
    expect(agent.firmware!.last.reason).toBe('manual');
    const run = agent.run();
    for (let i = 0; i < 400 && !events.some((e) => e.kind === 'waiting'); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    // The loop ran the family at boot and now waits for the next interval.
    expect(agent.firmware!.last.reason).toBe('boot');
    expect(events.find((e) => e.kind === 'waiting')).toMatchObject({ family: 'firmware', reason: 'interval' });
    expect(await agent.trigger('firmware', 'manual')).toBeUndefined(); // the loop runs it now
    agent.stop();
    await run;
    await agent.close();
  });

  it('a format-1 store area opens through the format-1 reader (report format 1)', async () => {
    const areaLength = (small.partitions.find((p: { name: string }) => p.name === 'state').size as number) / 2;
    const agent = await start('core-lazy-node-v1', { delivery: { manager: 'https://manager.invalid', deviceAuth: false } }, (hardware) => hardware.flashMemory.cells.get('state')!.set(encodeAreaHeader(7, areaLength, FORMAT_V1)));
    expect(agent.boot.store).toMatchObject({ fresh: false, format: 1, generation: 7, corruption: [], tornTail: false });
    await agent.close();
  });
});
