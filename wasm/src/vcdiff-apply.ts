/**
 * Streaming VCDIFF (RFC 3284) decoder, shared by both engines: parses the file header and each
 * window header here, reads the window's source segment (random access through the source
 * reader) and its three sections into the engine's buffers, runs the engine's window executor,
 * verifies the xdelta3 Adler-32 extension and hands the target window to `emit`. Memory: one
 * window (source segment + target window + sections), refused above the budget before reading it.
 *
 * Supported: what xdelta3 writes by default (application header, VCD_SOURCE windows, VCD_ADLER32,
 * the default code table, LZMA secondary compression: wasm/src/lzma.ts). Refused with
 * `unsupported`: the DJW and FGK secondary compressors, application-defined code tables,
 * VCD_TARGET windows (their source is earlier output, which a streaming decoder no longer holds),
 * open-vcdiff's 'S' format extension.
 */
import { PatchInput } from './delta-input.ts';
import { DeltaError, windowStatusError, type RangeReader, type SparseWindowEngine, type VcdiffWindowEngine } from './delta-types.ts';
import { checkSegmentEnd, fillSegment, readPlan, type Held } from './vcdiff-source.ts';
import { XzLzma2Stream } from './lzma.ts';
import { VCDIFF_MAGIC } from './delta-format.ts';

const VCD_DECOMPRESS = 0x01;
const VCD_CODETABLE = 0x02;
const VCD_APPHEADER = 0x04;
const VCD_SOURCE = 0x01;
const VCD_TARGET = 0x02;
const VCD_ADLER32 = 0x04;

/** xdelta3's secondary compressor ids (xdelta3.h VCD_DJW_ID etc.). */
const SECONDARY: Record<number, string> = { 1: 'DJW', 2: 'LZMA', 16: 'FGK' };
const LZMA_ID = 2;

/** A base-128 integer from the buffered input; at most 2^53 - 1, or `max`. */
async function varint(input: PatchInput, what: string, max = Number.MAX_SAFE_INTEGER): Promise<number> {
  const have = await input.fill(10);
  let v = 0;
  for (let k = 0; k < Math.min(have, 10); k++) {
    const b = input.buf[input.pos + k] as number;
    v = v * 128 + (b & 0x7f);
    if (v > max) throw new DeltaError('corrupt', `VCDIFF ${what} too large`);
    if ((b & 0x80) === 0) {
      input.pos += k + 1;
      return v;
    }
  }
  if (have < 10) throw new DeltaError('truncated', `patch ends inside VCDIFF ${what}`);
  throw new DeltaError('corrupt', `VCDIFF ${what} is not a valid integer`);
}

async function byte(input: PatchInput, what: string): Promise<number> {
  await input.need(1, `VCDIFF ${what}`);
  return input.buf[input.pos++] as number;
}

/** Returns true when sections may be LZMA-compressed (xdelta3's default). */
async function readHeader(input: PatchInput): Promise<boolean> {
  await input.need(5, 'VCDIFF header');
  const b = input.buf;
  const p = input.pos;
  if (b[p] !== VCDIFF_MAGIC[0] || b[p + 1] !== VCDIFF_MAGIC[1] || b[p + 2] !== VCDIFF_MAGIC[2]) throw new DeltaError('corrupt', 'not a VCDIFF patch (bad magic)');
  const version = b[p + 3] as number;
  if (version === 0x53) throw new DeltaError('unsupported', "VCDIFF format extension 'S' (open-vcdiff interleaved/checksum) is not supported");
  if (version !== 0) throw new DeltaError('unsupported', `VCDIFF version ${version} is not supported`);
  const indicator = b[p + 4] as number;
  input.pos += 5;
  if (indicator & ~(VCD_DECOMPRESS | VCD_CODETABLE | VCD_APPHEADER)) throw new DeltaError('corrupt', 'VCDIFF header indicator has unknown bits');
  let lzma = false;
  if (indicator & VCD_DECOMPRESS) {
    const id = await byte(input, 'secondary compressor id');
    if (id !== LZMA_ID) {
      const name = SECONDARY[id];
      throw new DeltaError('unsupported', `VCDIFF secondary compressor ${name ?? `id ${id}`} is not supported (only LZMA is; DJW and FGK are refused: create the patch with xdelta3 -S lzma or -S none)`);
    }
    lzma = true;
  }
  if (indicator & VCD_CODETABLE) throw new DeltaError('unsupported', 'VCDIFF application-defined code tables are not supported');
  if (indicator & VCD_APPHEADER) {
    const length = await varint(input, 'application header length');
    await input.skip(length, 'VCDIFF application header');
  }
  return lzma;
}

/** Splits xdelta3's secondary section: size varint (decoded length), then the compressed bytes. */
function secondarySize(section: Uint8Array, what: string, budget: number): [number, Uint8Array] {
  let v = 0;
  for (let k = 0; k < Math.min(section.length, 5); k++) {
    const b = section[k] as number;
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (v === 0) throw new DeltaError('corrupt', `VCDIFF ${what}: compressed section of size 0`);
      if (v > budget) throw new DeltaError('windowTooLarge', `VCDIFF ${what}: section of ${v} bytes over the budget of ${budget}`);
      return [v, section.subarray(k + 1)];
    }
  }
  throw new DeltaError('corrupt', `VCDIFF ${what}: bad compressed section size`);
}

export interface VcdiffRun {
  bytesWritten: number;
  peakWindowBytes: number;
}

export async function applyVcdiff(engine: VcdiffWindowEngine | SparseWindowEngine, source: RangeReader, patchReader: RangeReader, emit: (chunk: Uint8Array) => Promise<void>, budget: number): Promise<VcdiffRun> {
  const input = new PatchInput(patchReader);
  const lzma = await readHeader(input);
  // One LZMA stream per section type, continued from window to window.
  const streams = lzma ? [new XzLzma2Stream(budget), new XzLzma2Stream(budget), new XzLzma2Stream(budget)] : [];
  // Compressed sections as read, reused from window to window (no garbage per window).
  const rawBuffers = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  let written = 0;
  let peak = 0;
  // The source segment the engine's buffer still holds from the previous window (JS engine).
  let held: Held = { position: 0, length: 0 };
  // The last window's target, emitted during the next window's source reads (or at the end).
  let pending: Uint8Array | undefined;
  let kept = 0; // the WASM engine's target region: the largest target it keeps
  const flush = async (): Promise<void> => {
    const target = pending;
    pending = undefined;
    if (target !== undefined && target.length > 0) await emit(target);
  };
  for (let index = 0; !(await input.atEnd()); index++) {
    const what = `window ${index}`;
    const win = await byte(input, `${what} indicator`);
    if (win & ~(VCD_SOURCE | VCD_TARGET | VCD_ADLER32) || (win & VCD_SOURCE && win & VCD_TARGET)) throw new DeltaError('corrupt', `VCDIFF ${what}: invalid window indicator`);
    if (win & VCD_TARGET) throw new DeltaError('unsupported', `VCDIFF ${what}: VCD_TARGET windows (copies from earlier target windows) are not supported`);
    let segmentLength = 0;
    let segmentPosition = 0;
    if (win & VCD_SOURCE) {
      segmentLength = await varint(input, `${what} source segment length`, 0xffffffff);
      segmentPosition = await varint(input, `${what} source segment position`);
    }
    const deltaLength = await varint(input, `${what} delta length`, 0xffffffff);
    const deltaStart = input.offset;
    const targetLength = await varint(input, `${what} target length`, 0xffffffff);
    const deltaIndicator = await byte(input, `${what} delta indicator`);
    if (deltaIndicator !== 0 && (!lzma || deltaIndicator & ~7)) throw new DeltaError('corrupt', `VCDIFF ${what}: invalid delta indicator (compressed sections without a secondary compressor?)`);
    const dataLength = await varint(input, `${what} data length`, 0xffffffff);
    const instLength = await varint(input, `${what} instructions length`, 0xffffffff);
    const addrLength = await varint(input, `${what} addresses length`, 0xffffffff);
    let checksum = -1;
    if (win & VCD_ADLER32) {
      await input.need(4, `VCDIFF ${what} checksum`);
      const b = input.buf;
      const p = input.pos;
      checksum = (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
      input.pos += 4;
    }
    if (input.offset - deltaStart + dataLength + instLength + addrLength !== deltaLength) throw new DeltaError('corrupt', `VCDIFF ${what}: delta length does not match its sections`);
    const lengths = [dataLength, instLength, addrLength];
    let bytes = segmentLength + targetLength + dataLength + instLength + addrLength;
    const over = (): DeltaError => new DeltaError('windowTooLarge', `VCDIFF ${what} needs ${bytes} bytes, over the budget of ${budget}`);
    if (bytes > budget) throw over();
    if (segmentLength + targetLength > 0xffffffff) throw new DeltaError('corrupt', `VCDIFF ${what}: address space over 2^32`);
    // Compressed windows: read the raw sections first, their decoded sizes come first in each.
    let raw: Uint8Array[] = [];
    if (deltaIndicator !== 0) {
      raw = lengths.map((n, k) => {
        if ((rawBuffers[k] as Uint8Array).length < n) rawBuffers[k] = new Uint8Array(n);
        return (rawBuffers[k] as Uint8Array).subarray(0, n);
      });
      for (let k = 0; k < 3; k++) {
        await input.readInto(raw[k] as Uint8Array, `VCDIFF ${what} section ${k}`);
        if (deltaIndicator & (1 << k)) {
          const [size, body] = secondarySize(raw[k] as Uint8Array, what, budget);
          lengths[k] = size;
          raw[k] = body;
          bytes += size;
        }
      }
      if (bytes > budget) throw over();
    }
    peak = Math.max(peak, bytes);
    const place = (into: Uint8Array, k: number): void => {
      if (deltaIndicator & (1 << k)) (streams[k] as XzLzma2Stream).decodeSection(raw[k] as Uint8Array, into);
      else into.set(raw[k] as Uint8Array);
    };
    const readSections = async (sections: Uint8Array[]): Promise<void> => {
      for (let k = 0; k < 3; k++) {
        if (deltaIndicator === 0) await input.readInto(sections[k] as Uint8Array, `VCDIFF ${what} section ${k}`);
        else place(sections[k] as Uint8Array, k);
      }
    };
    // The previous window's target is emitted (hashed, written) while this window's source is
    // read: engines keep it intact until run().
    if (engine.sparse) {
      await checkSegmentEnd(source, segmentPosition, segmentLength, what);
      // Keeping the last target must not take memory past the budget: emit it first otherwise.
      const keep = pending !== undefined && Math.max(kept, targetLength) + bytes - targetLength <= budget;
      if (!keep) await flush();
      kept = keep ? Math.max(kept, targetLength) : targetLength;
      const views = engine.prepare(segmentLength, lengths[0] as number, lengths[1] as number, lengths[2] as number, targetLength, keep);
      await readSections([views.data, views.inst, views.addr]);
      const plan = engine.scan();
      if (typeof plan === 'number') throw windowStatusError(plan, index);
      if (pending !== undefined) pending = engine.previous();
      await settleBoth(readPlan(source, segmentPosition, plan, what), flush());
    } else {
      const views = engine.prepare(segmentLength, lengths[0] as number, lengths[1] as number, lengths[2] as number, targetLength);
      await settleBoth(fillSegment(source, views.source, segmentPosition, held, what), flush());
      held = { position: segmentPosition, length: segmentLength };
      await readSections([views.data, views.inst, views.addr]);
    }
    const target = engine.run();
    if (typeof target === 'number') throw windowStatusError(target, index);
    if (checksum >= 0 && engine.adler32() !== checksum) throw new DeltaError('checksumMismatch', `VCDIFF ${what}: Adler-32 of the result does not match (wrong source or corrupt patch)`);
    pending = target;
    written += target.length;
  }
  await flush();
  return { bytesWritten: written, peakWindowBytes: peak };
}

/** Waits for both (neither is left running) and throws the first failure, the emission's first. */
async function settleBoth(reading: Promise<void>, emitting: Promise<void>): Promise<void> {
  const [read, emitted] = await Promise.allSettled([reading, emitting]);
  if (emitted.status === 'rejected') throw emitted.reason;
  if (read.status === 'rejected') throw read.reason;
}
