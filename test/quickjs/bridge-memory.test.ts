/**
 * What the bridge (hal/quickjs/wire.ts) costs the guest heap (issue 16): a host object with
 * methods is one Proxy and one WeakRef in the guest, not a proxy function and a WeakRef per method
 * (~137 B each), and a function the guest exports is kept with the object it was read from, not
 * wrapped in a closure of its own (~73 B). The remote objects still behave as the HAL's objects
 * do, and their functions are released once the guest has dropped them.
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { Endpoint } from '../../hal/quickjs/wire.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let host: QuickJsHost | undefined;
afterEach(() => host?.dispose());

/** A host and a guest endpoint (the guest sweeps, as in QuickJS) talking directly. */
function pair() {
  const hostSide = new Endpoint();
  const guestSide = new Endpoint(undefined, 'sweep');
  hostSide.connect({ invoke: (id, args) => guestSide.invoke(id, args), settle: (p, ok, v) => guestSide.settle(p, ok, v), release: (id) => guestSide.release(id) });
  guestSide.connect({ invoke: (id, args) => hostSide.invoke(id, args), settle: (p, ok, v) => hostSide.settle(p, ok, v), release: (id) => hostSide.release(id) });
  return { hostSide, guestSide };
}

describe('QuickJS bridge memory', () => {
  it('a host method costs the guest heap no proxy function of its own, and an export of it no wrapper closure', async () => {
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    type Methods = { tick(): Promise<number>; [name: `m${number}`]: () => number };
    const methods = (count: number): Methods => ({ ...Object.fromEntries(Array.from({ length: count }, (_, i) => [`m${i}`, () => i])), tick: async () => count });
    // The host reads the guest heap after a job: an awaited call through the guest runs one.
    const used = async (object: { tick(): Promise<number> }) => (await object.tick(), host!.memory.lastBytes);
    // Warm up (the echo path's own code and shapes), then compare 10 with 90 methods: the guest
    // makes a proxy of each host method and exports that proxy back to the host, which keeps it.
    const kept = [host.mirror(methods(10)), host.mirror(methods(10))];
    const base = await used(kept[1]!);
    kept.push(host.mirror(methods(90)));
    const perMethod = ((await used(kept[2]!)) - base) / 80;
    expect(kept[2]!.m89!()).toBe(89);
    // Measured per method: ~121 B (the caller the echo exports back, two table entries); ~192 B with
    // a proxy function and WeakRef per method, ~266 B with a wrapper closure per export as well.
    expect(perMethod).toBeLessThan(150);
  });

  it('a remote object keeps the surface of the HAL object: keys, data, live getters, spreads, in, methods without this', () => {
    const { hostSide, guestSide } = pair();
    let durable = 0;
    const writer = {
      slot: 'b',
      get durableLength() {
        return durable;
      },
      write: (offset: number) => (durable = offset),
      close: () => 'closed',
    };
    const remote = guestSide.unpack(hostSide.pack(writer)) as typeof writer;
    expect(Object.keys(remote).sort()).toEqual(['close', 'durableLength', 'slot', 'write']);
    expect(remote.slot).toBe('b');
    expect('write' in remote && typeof remote.write).toBe('function');
    expect(remote.write(7)).toBe(7);
    expect(remote.durableLength).toBe(7);
    const { write, close } = remote;
    expect(write(9)).toBe(9);
    expect({ ...remote }.close()).toBe('closed');
    expect(close()).toBe('closed');
    expect(remote.durableLength).toBe(9);
    expect(JSON.parse(JSON.stringify(remote))).toEqual({ slot: 'b', durableLength: 9 });
  });

  it('a method taken from a remote object keeps its functions; they are released once both are dropped', async () => {
    const { hostSide, guestSide } = pair();
    const root = guestSide.unpack(hostSide.pack({ open: () => ({ read: () => 1, close: () => 2 }) })) as { open(): { read(): number } };
    const exported = hostSide.sizes.functions;
    const sweepAfterGc = async () => {
      await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRef targets are kept through the current job
      gc();
      guestSide.sweep();
    };
    let read: (() => number) | undefined = (() => root.open().read)(); // the object itself is dropped at once
    await sweepAfterGc();
    expect(read()).toBe(1);
    expect(hostSide.sizes.functions).toBe(exported + 2);
    read = undefined;
    await sweepAfterGc();
    expect(hostSide.sizes.functions).toBe(exported);
  });
});
