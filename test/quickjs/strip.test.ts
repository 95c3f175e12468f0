/**
 * The QuickJS host compiles the guest without its source text (and, by default, without debug
 * info): the heap that holds the agent's code shrinks accordingly, the chunks the agent imports
 * dynamically still load (through `__dmImport`), and a mode the build cannot take is an error.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsGuestError, QuickJsHost, type StripMode } from '../../hal/quickjs/index.ts';
import { RuntimeKnobs } from '../../hal/quickjs/runtime-knobs.ts';
import { routeDynamicImports } from '../../hal/quickjs/bundle.ts';
import { agentFootprint } from '../../scripts/agent-bundle.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

const kb = (bytes: number) => (bytes / 1024).toFixed(0);
const hosts: QuickJsHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.dispose();
});

/** Starts the agent with the delivery family (a dynamic import of its chunk) on a mock device; the guest heap peak and what the heap held then. */
async function startIn(strip: StripMode) {
  const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes, strip });
  hosts.push(host);
  const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: `strip-${strip}` } });
  const config = { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: 'https://manager.invalid', deviceAuth: false } };
  const agent = await host.start(hardware.boot(), small, config);
  expect(agent.info().families.map((f: { name: string }) => f.name)).toEqual(['delivery']);
  await host.guarded(agent.close());
  return host.memory;
}

describe('QuickJS strip modes', () => {
  it('drops the source text (and with it most of the code heap), then the debug info; the family chunk still loads', async () => {
    const none = await startIn('none');
    const source = await startIn('source');
    const debug = await startIn('debug');
    const code = (m: typeof none) => m.atPeak!.js_func_size + m.atPeak!.js_func_code_size + m.atPeak!.js_func_pc2line_size;
    // Each function keeps its own text, a module's top-level function the whole module's: what
    // 'source' saves is more than the minified source loaded (the core and the delivery chunks).
    const footprint = agentFootprint(JSON.parse(await readFile(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')));
    const loadedBytes = (footprint.coreKb + footprint.families.delivery!) * 1024;
    console.log(`strip modes, agent with the delivery family (${(loadedBytes / 1024).toFixed(0)} KB of source): guest heap peak none ${kb(none.peakBytes)}, source ${kb(source.peakBytes)}, debug ${kb(debug.peakBytes)} KB`);
    expect(none.peakBytes - source.peakBytes).toBeGreaterThan(loadedBytes);
    expect(code(none) - code(source)).toBeGreaterThan(loadedBytes);
    // Line tables (pc2line, ~a quarter of the source's size) and variable names go too.
    expect(source.atPeak!.js_func_pc2line_size).toBeGreaterThan(loadedBytes / 8);
    expect(debug.atPeak!.js_func_pc2line_size).toBeLessThan(2 * 1024);
    expect(source.peakBytes - debug.peakBytes).toBeGreaterThan(loadedBytes / 8);
    // Same program either way: the same functions (plus __dmImport) and about the same bytecode (the routed imports are calls).
    expect(source.atPeak!.js_func_count).toBe(none.atPeak!.js_func_count);
    expect(source.atPeak!.js_func_code_size).toBe(none.atPeak!.js_func_code_size);
    expect(debug.atPeak!.js_func_count).toBe(none.atPeak!.js_func_count + 1);
    expect(Math.abs(debug.atPeak!.js_func_code_size - none.atPeak!.js_func_code_size)).toBeLessThan(200);
  }, 60_000);

  it('refuses a runtime whose layout it does not recognise (another QuickJS build) instead of writing into it', () => {
    const memory = new Uint8Array(8192).fill(0x55);
    const module = { getWasmMemory: () => ({ buffer: memory.buffer }) };
    expect(() => RuntimeKnobs.locate(module as never, { rt: { value: 4096 } } as never)).toThrow(QuickJsGuestError);
    expect(memory.every((byte) => byte === 0x55)).toBe(true);
  });

  it('rejects an unknown strip mode', async () => {
    await expect(QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes, strip: 'all' as StripMode })).rejects.toThrow(RangeError);
  });
});

describe('routeDynamicImports', () => {
  it("routes a chunk's relative dynamic imports to __dmImport with the full module name", () => {
    const source = 'let a=()=>import("./agent-chunks/family-X.js"),b=async()=>(await import(\'../y.js\')).z;';
    expect(routeDynamicImports('sub/agent.js', source)).toEqual({ source: 'let a=()=>__dmImport("sub/agent-chunks/family-X.js"),b=async()=>(await __dmImport(\'y.js\')).z;', rest: false });
    expect(routeDynamicImports('agent-chunks/chunk-A.js', 'import("./delta-apply-B.js")').source).toBe('__dmImport("agent-chunks/delta-apply-B.js")');
  });

  it('leaves other code alone and reports an import() it cannot route', () => {
    expect(routeDynamicImports('agent.js', 'import{a}from"./x.js";reimport("./y.js");')).toEqual({ source: 'import{a}from"./x.js";reimport("./y.js");', rest: false });
    expect(routeDynamicImports('agent.js', 'let f=n=>import(n)')).toEqual({ source: 'let f=n=>import(n)', rest: true });
    expect(routeDynamicImports('agent.js', 'import("dm-agent")').rest).toBe(true);
  });
});
