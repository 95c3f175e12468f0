/** Engine order native → WASM → JS: the native engine (node:crypto here) gives the same digests. */
import { describe, expect, it } from 'vitest';
import { xorshiftBytes } from '../../cli/demo/fixture.ts';
import { createNodeDigestHost } from '../../hal/node/digest.ts';
import { EngineError, HashError, loadEngines } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';

const native = createNodeDigestHost();

const bytes = (length: number, seed: number) => xorshiftBytes(length, seed);

describe('native digest engine', () => {
  it("'auto' picks native when the host has one, then WASM, then JS", async () => {
    expect((await loadEngines({ wasm: createNodeWasmHost(), native })).kind).toBe('native');
    expect((await loadEngines({ wasm: createNodeWasmHost() })).kind).toBe('wasm');
    expect((await loadEngines({})).kind).toBe('js');
    await expect(loadEngines({ engine: 'native' })).rejects.toMatchObject({ code: 'nativeUnavailable' });
    await expect(loadEngines({ engine: 'native' })).rejects.toBeInstanceOf(EngineError);
  });

  it('same digests as WASM and JS, streamed in odd chunks and one-shot, sha256 and md5', async () => {
    const engines = [await loadEngines({ native, wasm: createNodeWasmHost() }), await loadEngines({ engine: 'wasm', wasm: createNodeWasmHost() }), await loadEngines({ engine: 'js' })];
    for (const algorithm of ['sha256', 'md5'] as const) {
      for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 100_003]) {
        const data = bytes(size, size + 7);
        const digests = engines.map((e) => {
          const hash = e.createHash(algorithm);
          for (let at = 0; at < size; at += 777) hash.update(data.subarray(at, at + 777));
          expect(hash.bytesHashed).toBe(size);
          return Buffer.from(hash.digest()).toString('hex');
        });
        expect(new Set(digests).size, `${algorithm} ${size}`).toBe(1);
        expect(Buffer.from(engines[0]!.hash(algorithm, data)).toString('hex')).toBe(digests[0]);
      }
    }
  });

  it('a native hash says it cannot export; resuming an exported state uses the portable engine', async () => {
    const engines = await loadEngines({ native, wasm: createNodeWasmHost() });
    const hash = engines.createHash('sha256');
    expect(hash.exportable).toBe(false);
    hash.update(bytes(100, 1));
    expect(() => hash.exportState()).toThrow(HashError);
    expect(() => hash.exportState()).toThrow(expect.objectContaining({ code: 'cannotExport' }));

    const portable = await loadEngines({ engine: 'js' });
    const first = portable.createHash('sha256');
    first.update(bytes(100, 1));
    const resumed = engines.createHash('sha256', first.exportState());
    expect(resumed.exportable).not.toBe(false);
    resumed.update(bytes(50, 2));
    const whole = portable.createHash('sha256');
    whole.update(bytes(100, 1));
    whole.update(bytes(50, 2));
    expect(resumed.digest()).toEqual(whole.digest());
  });

  it('after digest() every call throws finished', async () => {
    const hash = (await loadEngines({ native })).createHash('sha256');
    hash.digest();
    expect(() => hash.update(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'finished' }));
    expect(() => hash.digest()).toThrow(expect.objectContaining({ code: 'finished' }));
  });
});
