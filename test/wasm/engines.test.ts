/** loadEngines: automatic choice, forced engines, fallbacks and typed errors. */
import { describe, expect, it } from 'vitest';
import type { WasmHost } from '../../hal/types.ts';
import { EngineError, loadEngines } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { toHex, utf8Encode } from '../../agent/util/bytes.ts';

const brokenHost: WasmHost = {
  moduleBytes: async (name) => {
    throw new Error(`no module ${name}`);
  },
  instantiate: async () => ({}),
};

const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('loadEngines', () => {
  it("'auto' (default) uses WASM when a working host is given", async () => {
    const engines = await loadEngines({ wasm: createNodeWasmHost() });
    expect(engines.kind).toBe('wasm');
    expect(toHex(engines.hash('sha256', utf8Encode('abc')))).toBe(ABC_SHA256);
  });

  it("'auto' falls back to JS without a host, or when the host fails", async () => {
    expect((await loadEngines({})).kind).toBe('js');
    expect((await loadEngines({ wasm: brokenHost, engine: 'auto' })).kind).toBe('js');
    expect((await loadEngines()).kind).toBe('js');
  });

  it("'js' is always JS, even with a host", async () => {
    expect((await loadEngines({ wasm: createNodeWasmHost(), engine: 'js' })).kind).toBe('js');
  });

  it("forcing 'wasm' without a host or with a failing host → typed EngineError", async () => {
    await expect(loadEngines({ engine: 'wasm' })).rejects.toBeInstanceOf(EngineError);
    await expect(loadEngines({ engine: 'wasm' })).rejects.toMatchObject({ code: 'wasmUnavailable' });
    await expect(loadEngines({ wasm: brokenHost, engine: 'wasm' })).rejects.toMatchObject({ code: 'wasmFailed' });
    await expect(loadEngines({ wasm: createNodeWasmHost({ directory: '/nonexistent' }), engine: 'wasm' })).rejects.toMatchObject({ code: 'wasmFailed' });
  });

  it('a host without the SIMD hash module gets hash-scalar and stays on WASM', async () => {
    const engines = await loadEngines({ wasm: createNodeWasmHost({ unavailable: ['hash'] }), engine: 'wasm' });
    expect(engines.kind).toBe('wasm');
    expect(toHex(engines.hash('sha256', utf8Encode('abc')))).toBe(ABC_SHA256);
  });

  it('modules that do not look like ours are refused', async () => {
    const fake: WasmHost = { moduleBytes: async () => new Uint8Array(0), instantiate: async () => ({ memory: {} }) };
    await expect(loadEngines({ wasm: fake, engine: 'wasm' })).rejects.toMatchObject({ code: 'wasmFailed' });
    expect((await loadEngines({ wasm: fake })).kind).toBe('js');
  });

  it('an unknown engine option is an EngineError invalidOptions', async () => {
    await expect(loadEngines({ engine: 'fast' as 'js' })).rejects.toMatchObject({ code: 'invalidOptions' });
  });
});
