/**
 * The bridge's function tables are pruned: when the host drops its proxy of a guest function
 * (V8 collects it), the guest forgets the function and the object it is bound to, so what crosses
 * the bridge during a long run does not pile up in the guest heap; a disposed host keeps nothing.
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { QuickJsHost } from '../../hal/quickjs/index.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let host: QuickJsHost | undefined;
afterEach(() => host?.dispose());

describe('QuickJS bridge tables', () => {
  it('the guest releases what it exported once the host has dropped its proxies', async () => {
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const before = host.guestBridgeSizes().functions;
    (() => {
      for (let i = 0; i < 50; i++) {
        // Host object → guest proxy → handed back: the guest exports a function per method.
        const mirrored = host!.mirror({ value: () => i, payload: new Uint8Array(1024) });
        expect(mirrored.value()).toBe(i);
      }
    })();
    expect(host.guestBridgeSizes().functions).toBeGreaterThanOrEqual(before + 50);
    for (let round = 0; round < 50 && host.guestBridgeSizes().functions > before + 5; round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(host.guestBridgeSizes().functions).toBeLessThanOrEqual(before + 5);
  });

  it('the host releases what it exported once the guest has dropped its proxies, without waiting for a QuickJS cycle GC', async () => {
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const before = host.endpoint.sizes.functions;
    // Each round: a host function crosses (the guest makes a proxy), is called, and is dropped by
    // both sides. QuickJS frees the proxy at once but would finalize it only in a cycle GC, which
    // this small heap never reaches: the host's table kept every function (and what it closes over).
    const round = () => {
      for (let i = 0; i < 100; i++) expect(host!.mirror({ value: () => i }).value()).toBe(i);
    };
    for (let pass = 0; pass < 4; pass++) {
      round();
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // At most the last round is still held: the guest sweeps as it makes its next proxies.
    expect(host.endpoint.sizes.functions).toBeLessThanOrEqual(before + 100);
  });

  it('a disposed host keeps no exported function and no pending call', async () => {
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    host.mirror({ value: () => 1 }).value();
    expect(host.endpoint.sizes.functions).toBeGreaterThan(0);
    host.dispose();
    expect(host.endpoint.sizes).toEqual({ functions: 0, pending: 0 });
  });
});
