/** Shared suite: the `staging` facet (bulk files, durable up to the last sync). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { utf8Encode } from '../../../agent/util/bytes.ts';
import { ClosedError, HalError, InvalidOptionsError, NotFoundError, PowerCutError } from '../../../hal/errors.ts';
import { type HalFixture, type HalTarget, STAGING_CAPACITY } from './fixture.ts';
import { expectFailure, pattern } from './helpers.ts';

export function describeStagingSuite(fixture: HalFixture): void {
  describe(`staging (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('creates, writes at offsets, reads back and reports the size', async () => {
      const file = await target.device.staging.open({ name: 'pkg-1.bin' });
      expect(file.name).toBe('pkg-1.bin');
      expect(file.location).toContain('pkg-1.bin');
      expect(await file.size()).toBe(0);
      await file.write(0, utf8Encode('hello '));
      await file.write(6, utf8Encode('world'));
      expect(await file.size()).toBe(11);
      expect(await file.read(0, 11)).toEqual(utf8Encode('hello world'));
      // Reads past the end are short, not errors.
      expect(await file.read(6, 100)).toEqual(utf8Encode('world'));
      expect(await file.read(50, 10)).toEqual(new Uint8Array(0));
    });

    it('truncates and lists files; remove is idempotent', async () => {
      const b = await target.device.staging.open({ name: 'b.bin' });
      const a = await target.device.staging.open({ name: 'a.bin' });
      await a.write(0, pattern(100));
      await a.truncate(10);
      expect(await a.size()).toBe(10);
      expect(await a.read(0, 100)).toEqual(pattern(100).subarray(0, 10));
      expect(await target.device.staging.list()).toEqual(['a.bin', 'b.bin']);
      b.close();
      await target.device.staging.remove('b.bin');
      await target.device.staging.remove('b.bin');
      expect(await target.device.staging.list()).toEqual(['a.bin']);
    });

    it('open without create fails for a missing file', async () => {
      await expectFailure(() => target.device.staging.open({ name: 'missing.bin', create: false }), NotFoundError);
      const file = await target.device.staging.open({ name: 'there.bin' });
      await file.write(0, pattern(4));
      const again = await target.device.staging.open({ name: 'there.bin', create: false });
      expect(await again.read(0, 4)).toEqual(pattern(4));
    });

    it('refuses names that could leave the staging area', async () => {
      for (const name of ['', '../escape', 'a/b', '.hidden', '/abs', 'x\0y'])
        await expectFailure(() => target.device.staging.open({ name }), InvalidOptionsError);
      await expectFailure(() => target.device.staging.remove('../escape'), InvalidOptionsError);
    });

    it('reports available space and refuses to grow past the capacity', async () => {
      const before = await target.device.staging.available();
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThanOrEqual(STAGING_CAPACITY);
      const file = await target.device.staging.open({ name: 'big.bin' });
      await file.write(0, pattern(10_000));
      expect(await target.device.staging.available()).toBe(before - 10_000);
      const error = await expectFailure(() => file.write(10_000, new Uint8Array(STAGING_CAPACITY)), HalError);
      expect(error.code).toBe('noSpace');
    });

    it('reserve sets room aside once: writes inside it need no room of their own, other files cannot take it, close gives it back', async () => {
      const before = await target.device.staging.available();
      const file = await target.device.staging.open({ name: 'reserved.bin' });
      const refused = await expectFailure(() => file.reserve(before + 1), HalError);
      expect(refused.code).toBe('noSpace');
      await file.reserve(before - 1000);
      await file.reserve(10); // smaller than held: no-op
      expect(await target.device.staging.available()).toBe(1000);
      // Another file finds only what is left.
      const other = await target.device.staging.open({ name: 'other.bin' });
      expect((await expectFailure(() => other.write(0, new Uint8Array(1001)), HalError)).code).toBe('noSpace');
      await other.write(0, new Uint8Array(1000));
      // The reserved file fills its room, but not one byte more.
      await file.write(0, pattern(before - 1000));
      expect(await file.size()).toBe(before - 1000);
      expect((await expectFailure(() => file.write(before - 1000, pattern(1)), HalError)).code).toBe('noSpace');
      await expectFailure(() => file.reserve(-1), InvalidOptionsError);
      await file.truncate(0);
      expect(await target.device.staging.available()).toBe(0); // still held while open
      await file.close();
      expect(await target.device.staging.available()).toBe(before - 1000);
      await expectFailure(() => file.reserve(1), ClosedError);
    });

    it('synced content survives a clean reboot', async () => {
      const file = await target.device.staging.open({ name: 'keep.bin' });
      await file.write(0, pattern(5000, 4));
      await file.sync();
      const device = await target.reboot();
      const again = await device.staging.open({ name: 'keep.bin', create: false });
      expect(await again.read(0, 5000)).toEqual(pattern(5000, 4));
    });

    it('close is idempotent and later calls throw ClosedError', async () => {
      const file = await target.device.staging.open({ name: 'c.bin' });
      await file.close();
      await file.close();
      await expectFailure(() => file.read(0, 1), ClosedError);
      await expectFailure(() => file.write(0, new Uint8Array(1)), ClosedError);
      await expectFailure(() => file.sync(), ClosedError);
    });

    if (fixture.capabilities.powerCut) {
      it('after a power cut every synced byte is still there', async () => {
        const power = target.power!;
        const file = await target.device.staging.open({ name: 'cut.bin' });
        const synced = pattern(3000, 5);
        await file.write(0, synced);
        await file.sync();
        await file.write(3000, pattern(3000, 6)); // never synced
        power.cutAfter(1);
        await expectFailure(() => file.write(6000, pattern(100, 7)), PowerCutError);
        await expectFailure(() => file.size(), PowerCutError);
        const device = await power.powerCycle();
        const again = await device.staging.open({ name: 'cut.bin', create: false });
        const size = await again.size();
        expect(size).toBeGreaterThanOrEqual(3000);
        expect(size).toBeLessThan(6100);
        expect(await again.read(0, 3000)).toEqual(synced);
      });

      it('unsynced writes are not (all) durable', async () => {
        const file = await target.device.staging.open({ name: 'lost.bin' });
        await file.write(0, pattern(1000, 1));
        await file.sync();
        await file.write(1000, pattern(1000, 2));
        const device = await target.power!.powerCycle();
        const again = await device.staging.open({ name: 'lost.bin', create: false });
        expect(await again.size()).toBeLessThan(2000);
      });
    }
  });
}
