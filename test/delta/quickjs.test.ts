/** Delta apply is portable: the JS engine applies real xdelta3 (LZMA) and bsdiff patches inside QuickJS. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { getQuickJS } from 'quickjs-emscripten';
import { afterAll, describe, expect, it } from 'vitest';
import { neutralBundle } from '../../scripts/agent-bundle.ts';
import { editImage, prng, randomImage } from './images.ts';

const dir = mkdtempSync(join(tmpdir(), 'dm-delta-qjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('delta apply inside QuickJS', () => {
  it('applies xdelta3 default and bsdiff patches with the JS engine', async () => {
    const random = prng(11);
    const source = randomImage(30_000, random);
    const target = editImage(source, random, 5, 0.2);
    writeFileSync(join(dir, 's'), source);
    writeFileSync(join(dir, 't'), target);
    execFileSync('xdelta3', ['-e', '-f', '-s', join(dir, 's'), join(dir, 't'), join(dir, 'x')]);
    execFileSync('bsdiff', [join(dir, 's'), join(dir, 't'), join(dir, 'b')]);
    const built = await build({ ...neutralBundle, entryPoints: ['test/delta/quickjs-entry.ts'], write: false, logLevel: 'silent' });
    const code = built.outputFiles[0]!.text;
    const QuickJS = await getQuickJS();
    const runtime = QuickJS.newRuntime();
    const vm = runtime.newContext();
    try {
      const namespace = vm.unwrapResult(vm.evalCode(code, 'entry.js', { type: 'module' }));
      runtime.executePendingJobs();
      const resolved = vm.getPromiseState(namespace);
      const exports = resolved.type === 'fulfilled' ? resolved.value : namespace;
      const runFn = vm.getProp(exports, 'run');
      const expected = `${createHash('sha256').update(target).digest('hex')}`;
      for (const [patch, format] of [['x', 'vcdiff'], ['b', 'bsdiff']] as const) {
        const args = [Buffer.from(source).toString('base64'), readFileSync(join(dir, patch)).toString('base64')].map((s) => vm.newString(s));
        const promise = vm.unwrapResult(vm.callFunction(runFn, vm.undefined, ...args));
        args.forEach((a) => a.dispose());
        let state = vm.getPromiseState(promise);
        for (let i = 0; i < 1_000_000 && state.type === 'pending'; i++) {
          runtime.executePendingJobs();
          state = vm.getPromiseState(promise);
        }
        promise.dispose();
        if (state.type !== 'fulfilled') throw new Error(`QuickJS apply failed: ${JSON.stringify(state.type === 'rejected' ? vm.dump(state.error) : 'pending')}`);
        expect(vm.dump(state.value)).toBe(`js ${format} ${target.length} ${expected}`);
        state.value.dispose();
      }
      runFn.dispose();
      if (exports !== namespace) exports.dispose();
      namespace.dispose();
    } finally {
      vm.dispose();
      runtime.dispose();
    }
  }, 120_000);
});
