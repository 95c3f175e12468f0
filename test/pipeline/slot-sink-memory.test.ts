/**
 * The slot sink lets a chunk go once the HAL's slot writer has it (agent/pipeline/slot-sink.ts):
 * on QuickJS the bridge copies the bytes into the host, so the guest keeps no 8 KiB chunk alive
 * for the time the flash takes to program it (issue 16, the small board's heap).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { slotSink } from '../../agent/pipeline/slot-sink.ts';
import type { Update } from '../../hal/types.ts';

/** An update facet whose slot writer copies what it is given at once and settles each write when told. */
function copyingSlot() {
  const programmed: number[][] = [];
  let settle = () => {};
  const writer = {
    slot: 'b',
    durableLength: 0,
    write: (offset: number, bytes: Uint8Array) => {
      programmed.push([offset, bytes.length, bytes[0] ?? -1]);
      bytes.slice();
      return new Promise<void>((resolve) => (settle = resolve));
    },
    sync: async () => undefined,
    read: async () => new Uint8Array(0),
    complete: async () => undefined,
    close: async () => undefined,
  };
  const update = { openInactive: async () => writer } as unknown as Update;
  return { update, programmed, settle: () => settle() };
}

describe('slot sink memory', () => {
  it('keeps no reference to a chunk once the slot writer has it, while the flash programs it', async () => {
    const slot = copyingSlot();
    const sink = await slotSink(slot.update, { size: 16384, version: '2.0.0' }).open({ resume: false });
    let writing: Promise<void> = Promise.resolve();
    const sent = (() => {
      const chunk = new Uint8Array(8192).fill(7);
      writing = sink.write(0, chunk);
      return new WeakRef(chunk);
    })();
    await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRef targets are kept through the current job
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    expect(sent.deref()).toBeUndefined();
    slot.settle();
    await writing;
    expect(slot.programmed).toEqual([[0, 8192, 7]]);
    // The write counts once it settled: the bytes below 8192 are programmed, so a resume may start there.
    await sink.truncate(8192);
    await expect(sink.truncate(8193)).rejects.toMatchObject({ code: 'cannotResume' });
  });
});
