/**
 * Streaming bsdiff (BSDIFF40, as bsdiff 4.3 writes it) apply, shared by both engines. The patch:
 * "BSDIFF40", control-block length, diff-block length, new size (8-byte sign-magnitude LE each),
 * then three bzip2 streams (control triples, diff bytes, extra bytes) read side by side through
 * the patch reader. Old bytes are read at the offsets the control triples name; outside the old
 * file they count as 0, as in bspatch. Output goes out in chunks of at most CHUNK bytes, decoded
 * straight into the engine's buffer (diff bytes, then old bytes added in place; extra bytes into
 * the same buffer) by the engine's bzip2 block decoders.
 */
import { Bzip2Reader } from './bzip2.ts';
import { PatchInput, readSource } from './delta-input.ts';
import { DeltaError, type BsdiffAddEngine, type RangeReader } from './delta-types.ts';
import { BSDIFF_MAGIC } from './delta-format.ts';

// 1 MiB: four times fewer source reads and sink calls than 256 KiB (each an await, and a file
// read on the HAL), for 2 MiB of buffers.
const CHUNK = 1024 * 1024;
const MAX_IDLE_TRIPLES = 1024;

/** bspatch's offtin: 8 bytes little-endian magnitude, sign in the top bit. */
function offtin(b: Uint8Array, p: number): number {
  let v = (b[p + 7] as number) & 0x7f;
  for (let k = 6; k >= 0; k--) v = v * 256 + (b[p + k] as number);
  if (v > Number.MAX_SAFE_INTEGER) throw new DeltaError('corrupt', 'bsdiff: number out of range');
  return (b[p + 7] as number) & 0x80 ? -v : v;
}

async function exactly(reader: Bzip2Reader, into: Uint8Array, what: string): Promise<void> {
  if ((await reader.read(into)) < into.length) throw new DeltaError('corrupt', `bsdiff: ${what} block ends early`);
}

export interface BsdiffRun {
  bytesWritten: number;
  peakWindowBytes: number;
}

export async function applyBsdiff(adder: BsdiffAddEngine, source: RangeReader, patch: RangeReader, emit: (chunk: Uint8Array) => Promise<void>): Promise<BsdiffRun> {
  const head = new PatchInput(patch, 0, 32);
  await head.need(32, 'bsdiff header');
  const h = head.buf.subarray(head.pos, head.pos + 32);
  for (let k = 0; k < 8; k++) if (h[k] !== BSDIFF_MAGIC.charCodeAt(k)) throw new DeltaError('corrupt', 'not a BSDIFF40 patch (bad magic)');
  const ctrlLength = offtin(h, 8);
  const diffLength = offtin(h, 16);
  const newSize = offtin(h, 24);
  if (ctrlLength < 0 || diffLength < 0 || newSize < 0) throw new DeltaError('corrupt', 'bsdiff: negative length in header');
  const ctrl = new Bzip2Reader(new PatchInput(patch, 32, 32 + ctrlLength), adder.blocks(0));
  const diff = new Bzip2Reader(new PatchInput(patch, 32 + ctrlLength, 32 + ctrlLength + diffLength), adder.blocks(1));
  const extra = new Bzip2Reader(new PatchInput(patch, 32 + ctrlLength + diffLength), adder.blocks(2));
  for (const reader of [ctrl, diff, extra]) await reader.start();
  const triple = new Uint8Array(24);
  let newPos = 0;
  let oldPos = 0;
  // Triples that write nothing only move the old position; a patch of nothing else would spin
  // through a highly compressed control block, so a long series of them is refused.
  let idle = 0;
  while (newPos < newSize) {
    await exactly(ctrl, triple, 'control');
    const addLength = offtin(triple, 0);
    const copyLength = offtin(triple, 8);
    const seek = offtin(triple, 16);
    if (addLength < 0 || copyLength < 0 || newPos + addLength + copyLength > newSize) throw new DeltaError('corrupt', 'bsdiff: control triple runs past the new size');
    idle = addLength + copyLength === 0 ? idle + 1 : 0;
    if (idle > MAX_IDLE_TRIPLES) throw new DeltaError('corrupt', 'bsdiff: too many control triples that write nothing');
    for (let done = 0; done < addLength; ) {
      const n = Math.min(CHUNK, addLength - done);
      const views = adder.prepare(n);
      await exactly(diff, views.diff, 'diff');
      // Old bytes outside [0, old size) add nothing: zero-fill, read only the overlap.
      views.old.fill(0);
      const from = oldPos + done;
      const skip = Math.max(0, -from);
      if (skip < n) await readSource(source, from + skip, views.old.subarray(skip));
      await emit(adder.add(n));
      done += n;
    }
    newPos += addLength;
    oldPos += addLength;
    for (let done = 0; done < copyLength; ) {
      const n = Math.min(CHUNK, copyLength - done);
      const view = adder.prepare(n).diff;
      await exactly(extra, view, 'extra');
      await emit(view);
      done += n;
    }
    newPos += copyLength;
    oldPos += seek;
  }
  // Stricter than bspatch: each block must end here, with its stream CRC, so a damaged tail is
  // not taken for a complete patch.
  const probe = new Uint8Array(1);
  for (const [reader, what] of [[ctrl, 'control'], [diff, 'diff'], [extra, 'extra']] as const) {
    if ((await reader.read(probe)) !== 0) throw new DeltaError('corrupt', `bsdiff: ${what} block longer than the new file needs`);
  }
  return { bytesWritten: newPos, peakWindowBytes: 2 * CHUNK };
}
