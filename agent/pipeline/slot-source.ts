/**
 * The running image as the source of an image delta, for every image family (the firmware web
 * service, FUMO): the active slot read through the HAL, and the version the device runs (what a
 * delta named by signed metadata must start from).
 */
import { UpdateError } from '../../hal/errors.ts';
import type { Device } from '../../hal/types.ts';
import type { DeltaHooks, DeltaSource, HeldSource } from './delta-step.ts';

/** The active slot as a delta source: its recorded image size when it has one, else the whole slot. */
export async function activeSlotSource(device: Device): Promise<DeltaSource | undefined> {
  const update = device.update;
  if (!update.readActive) return undefined;
  const status = await update.status();
  const active = status.slots.find((s) => s.slot === status.active);
  const read = update.readActive.bind(update);
  // A factory slot has no record: its size is the partition's, found by the HAL refusing reads past it.
  const size = active?.size ?? Number.MAX_SAFE_INTEGER;
  return {
    size,
    read: async (offset, length) => {
      const want = Math.max(0, Math.min(length, size - offset));
      try {
        return await read(offset, want);
      } catch (error) {
        if (error instanceof UpdateError && error.code === 'tooLarge') return new Uint8Array(0); // past the slot: a short read
        throw error;
      }
    },
  };
}

/** What the active slot holds: the version and digest the HAL recorded, else the running firmware's version. */
export async function activeSlotHeld(device: Device): Promise<HeldSource | undefined> {
  if (!device.update.readActive) return undefined; // nothing to apply a delta to
  const status = await device.update.status();
  const active = status.slots.find((s) => s.slot === status.active);
  const version = active?.version ?? (await device.system.identity()).firmwareVersion;
  return { ...(version ? { version } : {}), ...(active?.sha256 ? { sha256: active.sha256 } : {}) };
}

/** Delta hooks of an image family whose deltas come only from signed metadata (FUMO: no message field offers one). */
export function signedImageDeltaHooks<J>(device: Device): DeltaHooks<J> {
  return { source: async () => activeSlotSource(device), held: async () => activeSlotHeld(device) };
}
