/**
 * The store inside QuickJS (the agent's small-board engine): values of every byte survive puts,
 * reopen and compaction byte-identically there too, and a small live value costs the guest heap
 * no objects of its own (issue 16: a Uint8Array per value was ~190 B of `memory_used_size` and 10
 * allocations; ~60 DM tree nodes alone held 14 KiB).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { getQuickJS, type QuickJSContext, type QuickJSRuntime } from 'quickjs-emscripten';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELD_AS_STRING_MAX } from '../../agent/store/held-value.ts';

let runtime: QuickJSRuntime;
let vm: QuickJSContext;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./quickjs-guest.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'guest',
    target: 'es2020',
    platform: 'neutral',
  });
  const QuickJS = await getQuickJS();
  runtime = QuickJS.newRuntime();
  vm = runtime.newContext();
  vm.unwrapResult(vm.evalCode(bundle.outputFiles[0]!.text, 'guest.js')).dispose();
});

afterAll(() => {
  vm?.dispose();
  runtime?.dispose();
});

/** Calls guest.<call> (which may return a promise) and runs the guest's jobs until it settles. */
function call(expression: string): unknown {
  vm.unwrapResult(vm.evalCode(`globalThis.__done = false; Promise.resolve(guest.${expression}).then((v) => { globalThis.__out = JSON.stringify(v ?? null); globalThis.__done = true; }, (e) => { globalThis.__out = 'error: ' + e; globalThis.__done = true; })`)).dispose();
  for (let i = 0; i < 100_000; i++) {
    runtime.executePendingJobs(-1);
    const done = vm.unwrapResult(vm.evalCode('globalThis.__done'));
    const settled = vm.dump(done);
    done.dispose();
    if (settled) break;
  }
  const out = vm.unwrapResult(vm.evalCode('globalThis.__out'));
  const text = vm.dump(out) as string;
  out.dispose();
  if (text.startsWith('error: ')) throw new Error(text);
  return JSON.parse(text);
}

function usage(): { memory_used_size: number; malloc_count: number } {
  const handle = runtime.computeMemoryUsage();
  const value = vm.dump(handle);
  handle.dispose();
  return value;
}

const hexOf = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

describe('the store in QuickJS', () => {
  it('keeps every byte value, empty and large values byte-identical through reopen and compaction', () => {
    call('open()');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const values: Record<string, string> = {
      'all-bytes': hexOf(all),
      'all-bytes-reversed': hexOf(all.slice().reverse()),
      empty: '',
      zero: '00',
      'at-threshold': hexOf(Uint8Array.from({ length: HELD_AS_STRING_MAX }, (_, i) => (i * 7) & 0xff)),
      large: hexOf(Uint8Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) & 0xff)),
      'ключ/ü': 'ff00ff',
    };
    call(`putHex(${JSON.stringify(values)})`);
    expect(call('dump()')).toEqual(values);
    // dump() changed every value it read: the store still holds the originals.
    expect(call('dump()')).toEqual(values);
    call('open()');
    expect(call('dump()')).toEqual(values);
    call('compact()');
    call('open()');
    expect(call('dump()')).toEqual(values);
  });

  it('holds small values without a heap object each', () => {
    call('open()');
    call("fill('warm/', 4, 30)");
    const before = usage();
    const count = 60;
    call(`fill('tree/./DevDetail/Ext/Node', ${count}, 30)`);
    const after = usage();
    const bytesPerKey = (after.memory_used_size - before.memory_used_size) / count;
    const allocationsPerKey = (after.malloc_count - before.malloc_count) / count;
    console.log(`QuickJS store, ${count} values of 30 B: ${bytesPerKey.toFixed(1)} B of memory_used_size and ${allocationsPerKey.toFixed(2)} allocations per key`);
    // A Uint8Array per value measured 190 B and 10 allocations per key; a held string (key,
    // value, Map record) is 3 allocations and is not an object.
    expect(bytesPerKey).toBeLessThan(64);
    expect(allocationsPerKey).toBeLessThan(5);
  });
});
