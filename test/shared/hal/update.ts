/**
 * Shared suite: the `update` facet (A/B slots, trial boot, confirm, rollback). With the
 * `powerCut` capability it also cuts power at every single flash operation of an update and
 * checks that the device always boots into a slot whose image still verifies.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, PowerCutError, UpdateError } from '../../../hal/errors.ts';
import type { Device, SlotName, UpdateStatus } from '../../../hal/types.ts';
import type { HalFixture, HalTarget } from './fixture.ts';
import { expectFailure, pattern, sha256Hex, writeInChunks } from './helpers.ts';

const IMAGE_SIZE = 20_003; // not a multiple of writeAlign or blockLength
const partitionOf = (slot: SlotName): string => (slot === 'a' ? 'slot_a' : 'slot_b');

/** Hash of the first `size` bytes of a slot, read through the flash facet. */
async function slotDigest(device: Device, slot: SlotName, size: number): Promise<string> {
  const partition = await device.flash.open({ partition: partitionOf(slot) });
  try {
    return sha256Hex(await partition.read(0, size));
  } finally {
    partition.close();
  }
}

/** Writes and completes `image` as `version` into the inactive slot. */
async function install(device: Device, image: Uint8Array, version: string): Promise<void> {
  const writer = await device.update.openInactive({ size: image.length, version });
  await writeInChunks(writer, image, { syncEvery: 4 });
  await writer.complete({ sha256: sha256Hex(image) });
}

function activeInfo(status: UpdateStatus) {
  return status.slots.find((s) => s.slot === status.active);
}

export function describeUpdateSuite(fixture: HalFixture): void {
  describe(`update (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create({ bootCountLimit: 3 });
    });
    afterEach(() => target.dispose());

    it('a fresh device runs slot a, confirmed, nothing pending', async () => {
      const status = await target.device.update.status();
      expect(status).toMatchObject({ active: 'a', confirmed: true, bootCount: 0 });
      expect(status.pending).toBeUndefined();
      expect(status.slots.map((s) => s.slot).sort()).toEqual(['a', 'b']);
    });

    it('full cycle: odd chunks → complete → reboot into trial → confirm', async () => {
      const image = pattern(IMAGE_SIZE, 42);
      const before = await target.device.system.identity();
      const writer = await target.device.update.openInactive({ size: image.length, version: '2.0.0' });
      expect(writer.slot).toBe('b');
      expect(writer.durableLength).toBe(0);
      await writeInChunks(writer, image, { syncEvery: 3 });
      expect(await writer.read(0, image.length)).toEqual(image);
      await writer.sync();
      expect(writer.durableLength).toBe(image.length);
      await writer.complete({ sha256: sha256Hex(image) });

      const pending = await target.device.update.status();
      expect(pending).toMatchObject({ active: 'a', pending: 'b', confirmed: true });
      expect(pending.slots.find((s) => s.slot === 'b')).toEqual({ slot: 'b', version: '2.0.0', size: image.length, sha256: sha256Hex(image) });
      expect((await target.device.system.identity()).firmwareVersion).toBe(before.firmwareVersion);

      let device = await target.reboot();
      const trial = await device.update.status();
      expect(trial).toMatchObject({ active: 'b', confirmed: false, bootCount: 1 });
      expect(trial.pending).toBeUndefined();
      expect((await device.system.identity()).firmwareVersion).toBe('2.0.0');
      expect(await slotDigest(device, 'b', image.length)).toBe(sha256Hex(image));

      await device.update.confirm();
      await device.update.confirm(); // idempotent
      expect(await device.update.status()).toMatchObject({ active: 'b', confirmed: true, bootCount: 0 });
      device = await target.reboot();
      expect(await device.update.status()).toMatchObject({ active: 'b', confirmed: true, bootCount: 0 });

      // The next update goes to the other slot.
      const next = await device.update.openInactive({ size: 100, version: '3.0.0' });
      expect(next.slot).toBe('a');
      next.close();
    });

    it('erases old content of the inactive slot before writing', async () => {
      const junk = await target.device.flash.open({ partition: 'slot_b' });
      await junk.write(4096, pattern(8192, 99));
      junk.close();
      const image = pattern(IMAGE_SIZE, 6);
      await install(target.device, image, '2.0.0');
      expect(await slotDigest(target.device, 'b', image.length)).toBe(sha256Hex(image));
    });

    it('a wrong digest marks nothing; the right one still completes', async () => {
      const image = pattern(IMAGE_SIZE, 7);
      const writer = await target.device.update.openInactive({ size: image.length, version: '2.0.0' });
      await writeInChunks(writer, image);
      await expectFailure(() => writer.complete({ sha256: sha256Hex(pattern(10)) }), UpdateError, 'digest');
      expect((await target.device.update.status()).pending).toBeUndefined();
      await writer.complete({ sha256: sha256Hex(image) });
      expect((await target.device.update.status()).pending).toBe('b');
    });

    it('a corrupted image is caught by the read-back', async () => {
      const image = pattern(IMAGE_SIZE, 8);
      const writer = await target.device.update.openInactive({ size: image.length, version: '2.0.0' });
      const tampered = image.slice();
      tampered[12_345] = (tampered[12_345] as number) ^ 0x40;
      await writeInChunks(writer, tampered);
      await expectFailure(() => writer.complete({ sha256: sha256Hex(image) }), UpdateError, 'digest');
      const device = await target.reboot();
      expect(await device.update.status()).toMatchObject({ active: 'a', confirmed: true });
    });

    it('refuses incomplete images, oversize images and writes, and bad options', async () => {
      const slotSize = 65536;
      await expectFailure(() => target.device.update.openInactive({ size: slotSize + 1, version: 'x' }), UpdateError, 'tooLarge');
      await expectFailure(() => target.device.update.openInactive({ size: 0, version: 'x' }), InvalidOptionsError);
      await expectFailure(() => target.device.update.openInactive({ size: 10, version: '' }), InvalidOptionsError);
      await expectFailure(() => target.device.update.openInactive({ size: 10, version: 'x', resume: 'yes' as unknown as boolean }), InvalidOptionsError);
      const writer = await target.device.update.openInactive({ size: 1000, version: '2.0.0' });
      await writer.write(0, pattern(500));
      await expectFailure(() => writer.write(900, pattern(101)), UpdateError, 'tooLarge');
      await expectFailure(() => writer.complete({ sha256: sha256Hex(pattern(1000)) }), UpdateError, 'state');
      await expectFailure(() => writer.complete({ sha256: 'ABC' }), InvalidOptionsError);
    });

    it('without confirm the bootloader rolls back after the boot-count limit', async () => {
      await install(target.device, pattern(IMAGE_SIZE, 1), '2.0.0');
      let device = target.device;
      for (let boot = 1; boot <= 3; boot++) {
        device = await target.reboot();
        expect(await device.update.status()).toMatchObject({ active: 'b', confirmed: false, bootCount: boot });
      }
      device = await target.reboot();
      expect(await device.update.status()).toMatchObject({ active: 'a', confirmed: true, bootCount: 0 });
      expect((await device.system.identity()).firmwareVersion).not.toBe('2.0.0');
    });

    it('an explicit rollback in a trial returns to the previous slot on the next boot', async () => {
      await install(target.device, pattern(IMAGE_SIZE, 2), '2.0.0');
      let device = await target.reboot();
      expect(await device.update.status()).toMatchObject({ active: 'b', confirmed: false });
      await device.update.rollback();
      await device.update.rollback(); // idempotent within the trial
      await expectFailure(() => device.update.confirm(), UpdateError, 'state');
      device = await target.reboot();
      expect(await device.update.status()).toMatchObject({ active: 'a', confirmed: true, bootCount: 0 });
      await expectFailure(() => device.update.rollback(), UpdateError, 'state');
    });

    it('rollback drops a pending image; a trial protects its fallback slot', async () => {
      await install(target.device, pattern(IMAGE_SIZE, 3), '2.0.0');
      await target.device.update.rollback();
      expect((await target.device.update.status()).pending).toBeUndefined();
      let device = await target.reboot();
      expect(await device.update.status()).toMatchObject({ active: 'a', confirmed: true });

      await install(device, pattern(IMAGE_SIZE, 4), '2.0.1');
      device = await target.reboot();
      await expectFailure(() => device.update.openInactive({ size: 10, version: '9' }), UpdateError, 'state');
    });

    it('resumes from the durable length after a reboot', async () => {
      const image = pattern(IMAGE_SIZE, 5);
      const writer = await target.device.update.openInactive({ size: image.length, version: '2.0.0' });
      await writer.write(0, image.subarray(0, 9_999)); // ends mid alignment unit
      await writer.sync();
      expect(writer.durableLength).toBe(9_999);
      await writer.write(9_999, image.subarray(9_999, 15_000)); // not synced
      const device = await target.reboot();
      const resumed = await device.update.openInactive({ size: image.length, version: '2.0.0', resume: true });
      expect(resumed.durableLength).toBeGreaterThanOrEqual(9_999);
      expect(resumed.durableLength).toBeLessThan(image.length);
      expect(await resumed.read(0, resumed.durableLength)).toEqual(image.subarray(0, resumed.durableLength));
      await writeInChunks(resumed, image, { start: resumed.durableLength });
      await resumed.complete({ sha256: sha256Hex(image) });
      expect((await device.update.status()).pending).toBe('b');

      // A different version does not resume: it starts over.
      const other = await device.update.openInactive({ size: image.length, version: '2.0.1', resume: true });
      expect(other.durableLength).toBe(0);
    });

    if (fixture.capabilities.powerCut) {
      it('a power cut at every flash operation of an update leaves a bootable, verified device', async () => {
        const base = pattern(IMAGE_SIZE, 10);
        const next = pattern(IMAGE_SIZE - 1234, 11);
        let cutPoints = 0;
        for (let n = 1; ; n++) {
          const run = await fixture.create({ bootCountLimit: 3 });
          try {
            // Provision: base image in slot b, confirmed; old junk in slot a, so it needs erasing.
            await install(run.device, base, '1.0.0');
            await (await run.reboot()).update.confirm();
            const slotA = await run.device.flash.open({ partition: 'slot_a' });
            await slotA.write(0, pattern(IMAGE_SIZE + 4096 - (IMAGE_SIZE % 4096), 12));
            slotA.close();
            const power = run.power!;
            power.cutAfter(n);
            let completed = false;
            try {
              await install(run.device, next, '2.0.0');
              completed = true;
            } catch (error) {
              expect(error).toBeInstanceOf(PowerCutError);
            }
            power.cancel();
            if (completed) break; // n is past the last operation: every point was exercised
            cutPoints++;
            const device = await power.powerCycle();
            const status = await device.update.status();
            const info = activeInfo(status);
            expect(info?.sha256, `cut ${n}: active slot ${status.active} has a verified image`).toBeDefined();
            expect(await slotDigest(device, status.active, info!.size!)).toBe(info!.sha256);
            // And the update can still be finished from where it durably got.
            const writer = await device.update.openInactive({ size: next.length, version: '2.0.0', resume: true });
            expect(await writer.read(0, writer.durableLength)).toEqual(next.subarray(0, writer.durableLength));
            await writeInChunks(writer, next, { start: writer.durableLength, syncEvery: 4 });
            await writer.complete({ sha256: sha256Hex(next) });
            const after = await run.reboot();
            expect(await after.update.status()).toMatchObject({ active: 'a', confirmed: false });
            expect(await slotDigest(after, 'a', next.length)).toBe(sha256Hex(next));
          } finally {
            await run.dispose();
          }
        }
        expect(cutPoints).toBeGreaterThan(20);
        console.info(`[update power-cut] ${cutPoints} cut points exercised (${fixture.name})`);
      });
    }
  });
}
