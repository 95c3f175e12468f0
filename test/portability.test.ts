import { build } from 'esbuild';
import { getQuickJS } from 'quickjs-emscripten';
import { describe, expect, it } from 'vitest';
import { neutralBundle } from '../scripts/agent-bundle.ts';

/**
 * agent/ must run wherever the board's JavaScript engine runs: it imports no node:* module and
 * nothing from hal/<platform>/, server/ or cli/, and uses no global QuickJS lacks. The type
 * check (agent/tsconfig.json: lib ES2020, no Node types) catches stray globals at compile time;
 * this test checks the bundle and then runs agent code inside QuickJS for real.
 */
async function bundle(entry: string) {
  const result = await build({ ...neutralBundle, entryPoints: [entry], write: false, logLevel: 'silent' });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile!.inputs) };
}

describe('the agent bundle is portable', () => {
  it('bundles agent/ for the neutral platform without Node built-ins or platform HALs', async () => {
    const { code, inputs } = await bundle('agent/index.ts');
    const forbidden = inputs.filter((input) => /^(hal\/(node|mock|quickjs)\/|server\/|cli\/|node:)/.test(input));
    expect(forbidden).toEqual([]);
    expect(inputs.some((input) => input.startsWith('agent/'))).toBe(true);
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).not.toMatch(/\brequire\(\s*["']/);
  });

  it('fails the neutral build when agent code reaches for a Node module (the check can fail)', async () => {
    const { writeFile, rm } = await import('node:fs/promises');
    const probe = 'agent/__portability_probe.ts';
    await writeFile(probe, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
    try {
      await expect(bundle(probe)).rejects.toThrow(/node:fs/);
    } finally {
      await rm(probe, { force: true });
    }
  });

  it('runs the store, engines, state machine and createAgent inside QuickJS', async () => {
    const { code } = await bundle('test/quickjs/entry.ts');
    const QuickJS = await getQuickJS();
    const runtime = QuickJS.newRuntime();
    runtime.setMemoryLimit(256 * 1024 * 1024);
    const vm = runtime.newContext();
    try {
      const moduleResult = vm.evalCode(code, 'entry.js', { type: 'module' });
      const namespace = vm.unwrapResult(moduleResult);
      runtime.executePendingJobs();
      const resolved = vm.getPromiseState(namespace);
      const exports = resolved.type === 'fulfilled' ? resolved.value : namespace;
      const runFn = vm.getProp(exports, 'run');
      const promise = vm.unwrapResult(vm.callFunction(runFn, vm.undefined));
      runFn.dispose();
      if (exports !== namespace) exports.dispose();
      namespace.dispose();
      let state = vm.getPromiseState(promise);
      for (let i = 0; i < 100_000 && state.type === 'pending'; i++) {
        runtime.executePendingJobs();
        state = vm.getPromiseState(promise);
      }
      promise.dispose();
      if (state.type !== 'fulfilled') {
        const error = state.type === 'rejected' ? vm.dump(state.error) : 'still pending';
        if (state.type === 'rejected') state.error.dispose();
        throw new Error(`QuickJS run failed: ${JSON.stringify(error)}`);
      }
      const result = vm.dump(state.value) as Record<string, any>;
      state.value.dispose();
      expect(result.globals).toEqual([]);
      expect(result.cutError).toBe('PowerCutError');
      expect(result.storeKeys).toEqual(['k0', 'k1', 'k2', 'k3']);
      expect(result.storeCorruption).toBe(0);
      expect(result.engine).toBe('js');
      expect(result.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(result.md5).toBe('900150983cd24fb0d6963f7d28e17f72');
      expect(result.diff).toEqual({ install: ['ñ'], upgrade: ['a'], remove: ['gone'] });
      expect(result.syncml).toEqual({
        xml: [1, 0x2d, 1, 7, 1, 0x0f, 34, 38, 3, 1, 39, 46, 2, 0x0f, 46, 53, 1, 0x12, 54, 59, 2, 0x12, 59, 61, 2, 0x2d, 61, 70],
        wbxml: [1, 0x2d, 5, 6, 1, 0x12, 6, 7, 2, 0x12, 7, 7, 2, 0x2d, 7, 8],
        publicId: 0x1201,
        error: 'SyncmlError badReference 10',
      });
      expect(result.machine).toBe('failed');
      expect(result.agent).toMatchObject({ engine: 'js', targets: ['qjs-1', 'user:alice'], fresh: true, ran: true });
      // setMemoryLimit is not a real cap in this build: measure instead (compared with the board budget).
      const usage = runtime.computeMemoryUsage();
      const used = (vm.dump(usage) as { memory_used_size: number }).memory_used_size;
      usage.dispose();
      console.log(`QuickJS: agent core ran; QuickJS heap in use ${(used / 1024 / 1024).toFixed(2)} MiB, of which ~4.1 MiB is the mock HAL's simulated flash (quickjs-small budget 8 MiB)`);
      expect(used).toBeGreaterThan(0);
    } finally {
      vm.dispose();
      runtime.dispose();
    }
  }, 60_000);
});
