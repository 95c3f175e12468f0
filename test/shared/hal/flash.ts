/** Shared suite: the `flash` facet (strict NOR semantics on every implementation). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClosedError, FlashError, InvalidOptionsError, PowerCutError } from '../../../hal/errors.ts';
import type { FlashPartition } from '../../../hal/types.ts';
import { type HalFixture, type HalTarget, TEST_BOARD } from './fixture.ts';
import { expectFailure, pattern } from './helpers.ts';

export function describeFlashSuite(fixture: HalFixture): void {
  describe(`flash (${fixture.name})`, () => {
    let target: HalTarget;
    let state: FlashPartition;
    const { blockLength, writeAlign, eraseValue } = TEST_BOARD.flash;

    beforeEach(async () => {
      target = await fixture.create();
      state = await target.device.flash.open({ partition: 'state' });
    });
    afterEach(() => target.dispose());

    it('lists the board partitions and reports the geometry', () => {
      const raw = TEST_BOARD.partitions.filter((p) => p.kind !== 'staging').map((p) => p.name);
      expect([...target.device.flash.partitions()].sort()).toEqual([...raw].sort());
      expect(state.name).toBe('state');
      expect(state.status()).toEqual({ size: 16384, blockLength, blocks: 16384 / blockLength, eraseValue, writeAlign });
    });

    it('reads erased flash as the erase value', async () => {
      const bytes = await state.read(0, 64);
      expect(bytes).toEqual(new Uint8Array(64).fill(eraseValue));
    });

    it('writes aligned data and reads it back; data survives a reboot', async () => {
      const data = pattern(64, 3);
      await state.write(blockLength, data);
      expect(await state.read(blockLength, 64)).toEqual(data);
      const device = await target.reboot();
      const again = await device.flash.open({ partition: 'state' });
      expect(await again.read(blockLength, 64)).toEqual(data);
    });

    it('refuses misaligned offsets and lengths', async () => {
      await expectFailure(() => state.write(1, new Uint8Array(writeAlign)), FlashError, 'misaligned');
      await expectFailure(() => state.write(0, new Uint8Array(writeAlign + 1)), FlashError, 'misaligned');
      // Nothing was programmed by the refused writes.
      expect(await state.read(0, 2 * writeAlign)).toEqual(new Uint8Array(2 * writeAlign).fill(eraseValue));
    });

    it('only clears bits: programming over programmed bits fails until erased', async () => {
      await state.write(0, new Uint8Array(writeAlign).fill(0xf0));
      // 0xf0 → 0x30 only clears bits: allowed (NOR can program a word again towards 0).
      await state.write(0, new Uint8Array(writeAlign).fill(0x30));
      expect(await state.read(0, writeAlign)).toEqual(new Uint8Array(writeAlign).fill(0x30));
      await expectFailure(() => state.write(0, new Uint8Array(writeAlign).fill(0x0f)), FlashError, 'notErased');
      expect(await state.read(0, writeAlign)).toEqual(new Uint8Array(writeAlign).fill(0x30));
      await state.eraseBlock(0);
      await state.write(0, new Uint8Array(writeAlign).fill(0x0f));
      expect(await state.read(0, writeAlign)).toEqual(new Uint8Array(writeAlign).fill(0x0f));
    });

    it('erases whole blocks only', async () => {
      await state.write(0, pattern(blockLength, 1));
      await state.write(blockLength, pattern(blockLength, 2));
      await state.eraseBlock(1);
      expect(await state.read(0, blockLength)).toEqual(pattern(blockLength, 1));
      expect(await state.read(blockLength, blockLength)).toEqual(new Uint8Array(blockLength).fill(eraseValue));
    });

    it('refuses out-of-range reads, writes and erases', async () => {
      const size = state.status().size;
      await expectFailure(() => state.read(size - 4, 8), FlashError, 'outOfRange');
      await expectFailure(() => state.read(-8, 8), FlashError, 'outOfRange');
      await expectFailure(() => state.write(size, new Uint8Array(writeAlign)), FlashError, 'outOfRange');
      await expectFailure(() => state.eraseBlock(size / blockLength), FlashError, 'outOfRange');
      await expectFailure(() => state.eraseBlock(-1), FlashError, 'outOfRange');
    });

    it('keeps partitions apart', async () => {
      const slotA = await target.device.flash.open({ partition: 'slot_a' });
      await state.write(16384 - writeAlign, new Uint8Array(writeAlign).fill(0));
      expect(await slotA.read(0, writeAlign)).toEqual(new Uint8Array(writeAlign).fill(eraseValue));
    });

    it('rejects unknown partitions and bad open options', async () => {
      await expectFailure(() => target.device.flash.open({ partition: 'nope' }), FlashError, 'noPartition');
      await expectFailure(() => target.device.flash.open({} as { partition: string }), InvalidOptionsError);
      await expectFailure(() => state.write(0, [1, 2, 3, 4, 5, 6, 7, 8] as unknown as Uint8Array), InvalidOptionsError);
    });

    it('close is idempotent and later calls throw ClosedError', async () => {
      state.close();
      state.close();
      await expectFailure(() => state.read(0, 8), ClosedError);
      await expectFailure(() => state.write(0, new Uint8Array(writeAlign)), ClosedError);
      await expectFailure(() => state.eraseBlock(0), ClosedError);
      expect(() => state.status()).toThrow(ClosedError);
    });

    if (fixture.capabilities.powerCut) {
      it('a cut write lands partially and every later call fails until power returns', async () => {
        const power = target.power!;
        const data = pattern(blockLength, 9);
        power.cutAfter(1);
        await expectFailure(() => state.write(0, data), PowerCutError);
        await expectFailure(() => state.read(0, 8), PowerCutError);
        await expectFailure(() => target.device.staging.list(), PowerCutError);
        const device = await power.powerCycle();
        const again = await device.flash.open({ partition: 'state' });
        const after = await again.read(0, blockLength);
        // A prefix of whole alignment units landed, the rest is still erased.
        let landed = 0;
        while (landed < blockLength && after[landed] === data[landed]) landed++;
        landed -= landed % writeAlign;
        expect(landed).toBeLessThan(blockLength);
        expect(after.subarray(landed).every((b, i) => b === eraseValue || b === data[landed + i])).toBe(true);
      });
    }
  });
}
