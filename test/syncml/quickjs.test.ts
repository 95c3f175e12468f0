/**
 * The codec is portable: bundled for the neutral platform (no Node built-ins) and run inside
 * QuickJS — without TextDecoder, so the per-span text decoding is used — it decodes and encodes
 * every corpus message exactly as Node does.
 */
import { build } from 'esbuild';
import { getQuickJS } from 'quickjs-emscripten';
import { describe, expect, it } from 'vitest';
import { neutralBundle } from '../../scripts/agent-bundle.ts';
import { toBase64 } from '../../agent/util/bytes.ts';
import { codecOutcome, type CodecOutcome } from './quickjs-entry.ts';
import { CORPUS_PRESENT, corpusFiles, WBXML_DIR, xmlCorpus } from './support.ts';

describe.skipIf(!CORPUS_PRESENT)('SyncML codec inside QuickJS', () => {
  it('decodes and encodes every corpus message as Node does', async () => {
    const files = [...xmlCorpus(), ...corpusFiles(WBXML_DIR, '.wbxml')];
    const result = await build({ ...neutralBundle, entryPoints: ['test/syncml/quickjs-entry.ts'], write: false, logLevel: 'silent' });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.filter((input) => /^(node:|cli\/|server\/|hal\/)/.test(input))).toEqual([]);
    const QuickJS = await getQuickJS();
    const runtime = QuickJS.newRuntime();
    const vm = runtime.newContext();
    try {
      const namespace = vm.unwrapResult(vm.evalCode(result.outputFiles[0]!.text, 'syncml.js', { type: 'module' }));
      runtime.executePendingJobs();
      const state = vm.getPromiseState(namespace);
      const exports = state.type === 'fulfilled' ? state.value : namespace;
      const runFn = vm.getProp(exports, 'run');
      const argument = vm.unwrapResult(vm.evalCode(`(${JSON.stringify(files.map((file) => toBase64(file.bytes)))})`));
      const handle = vm.unwrapResult(vm.callFunction(runFn, vm.undefined, argument));
      const outcome = vm.dump(handle) as { hasTextDecoder: boolean; outcomes: CodecOutcome[] };
      for (const h of [handle, argument, runFn]) h.dispose();
      if (exports !== namespace) exports.dispose();
      namespace.dispose();
      expect(outcome.hasTextDecoder).toBe(false);
      expect(outcome.outcomes).toHaveLength(files.length);
      files.forEach((file, i) => {
        const quickjs = outcome.outcomes[i] as CodecOutcome;
        expect(quickjs.error, file.name).toBeUndefined();
        expect(quickjs, file.name).toEqual(codecOutcome(file.bytes));
      });
    } finally {
      vm.dispose();
      runtime.dispose();
    }
  }, 120_000);
});
