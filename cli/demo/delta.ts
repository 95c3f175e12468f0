/**
 * Delta updates in the demo: the reference servers make patches with the real xdelta3/bsdiff
 * (server/deltas.ts; without the tools they offer full artifacts and the demo says so), the
 * device keeps its installed packages' artifacts and its running image is in the active slot, and
 * the demo prints what each delta saved on the link, from the reports the servers received.
 */
import { join } from 'node:path';
import type { DeltaNote } from '../../agent/pipeline/delta-step.ts';
import type { Device } from '../../hal/types.ts';
import { DeltaMaker } from '../../server/deltas.ts';
import { formatBytes } from './progress.ts';

export function demoDeltaMaker(dir: string, name: string): DeltaMaker {
  return new DeltaMaker({ dir: join(dir, name) });
}

/** One line about a delta the device reported (applied: bytes saved; fell back: why). */
export function deltaLine(subject: string, note: DeltaNote | undefined): string {
  if (!note) return `  delta: none offered for ${subject} (xdelta3/bsdiff not installed?): the full artifact was downloaded\n`;
  if (note.outcome === 'fellBack') return `  delta: ${subject} as ${note.format} fell back to the full artifact (${note.code ?? 'failed'})\n`;
  const saved = note.fullBytes - note.patchBytes;
  return `  delta: ${subject} from ${note.sourceVersion} as ${note.format}: ${formatBytes(note.patchBytes)} over the link instead of ${formatBytes(note.fullBytes)} — ${formatBytes(saved)} (${((saved / note.fullBytes) * 100).toFixed(0)} %) saved ✔\n`;
}

/** The device's running image, as the factory programmed it into the active slot. */
export async function programFactoryImage(device: Device, image: Uint8Array): Promise<void> {
  const { active } = await device.update.status();
  const partition = await device.flash.open({ partition: `slot_${active}` });
  try {
    await partition.write(0, image);
  } finally {
    await partition.close();
  }
}
