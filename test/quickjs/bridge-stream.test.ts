/**
 * A stream (an HTTP body) crossing the bridge both ways: host iterable → guest (which sees the
 * next/return pair as its own iterator) → back to the host. Every chunk arrives in order, the
 * end arrives, and leaving a loop early reaches the source's `return()` (the socket is let go).
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { QuickJsHost } from '../../hal/quickjs/index.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

let host: QuickJsHost | undefined;
afterEach(() => host?.dispose());

/** An async iterable of `count` chunks that records how it was left. */
function source(count: number) {
  const seen = { returned: 0, pulled: 0 };
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => (seen.pulled < count ? { done: false, value: new Uint8Array([seen.pulled++, 7, 7]) } : { done: true, value: undefined }),
      return: async () => {
        seen.returned++;
        return { done: true, value: undefined };
      },
    }),
  };
  return { body, seen };
}

describe('QuickJS bridge streams', () => {
  it('delivers every chunk in order and the end, through the guest and back', async () => {
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const { body, seen } = source(5);
    const mirrored = host.mirror({ body }).body;
    const firsts: number[] = [];
    for await (const chunk of mirrored) {
      expect(chunk).toBeInstanceOf(Uint8Array);
      expect([...chunk.subarray(1)]).toEqual([7, 7]);
      firsts.push(chunk[0]!);
    }
    expect(firsts).toEqual([0, 1, 2, 3, 4]);
    expect(seen.returned).toBe(0);
  });

  it('leaving the loop early reaches the source return() once, and nothing more is pulled', async () => {
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const { body, seen } = source(100);
    const mirrored = host.mirror({ body }).body;
    let taken = 0;
    for await (const chunk of mirrored) {
      expect(chunk[0]).toBe(taken);
      if (++taken === 3) break;
    }
    expect(seen.returned).toBe(1);
    expect(seen.pulled).toBe(3);
  });
});
