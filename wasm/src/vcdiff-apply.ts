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
import { PatchInput, readSource } from './delta-input.ts';
import { DeltaError, windowStatusError, type RangeReader, type VcdiffWindowEngine } from './delta-types.ts';
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

interface Held {
  position: number;
  length: number;
}

/**
 * Fills the source segment view. xdelta3's windows name overlapping segments (up to its 64 MiB
 * source window each), so the part the buffer still holds from the previous window is moved into
 * place (engines keep the segment's bytes across prepare) and only the rest is read.
 */
async function fillSegment(source: RangeReader, view: Uint8Array, position: number, held: Held, what: string): Promise<void> {
  const end = position + view.length;
  const from = Math.max(position, held.position);
  const to = Math.min(end, held.position + held.length);
  const short = (): DeltaError => new DeltaError('sourceMismatch', `VCDIFF ${what}: source is shorter than the patch needs (${end} bytes)`);
  // The held bytes start where the view starts but may run past its end (a shorter new segment).
  const wide = Math.max(view.length, held.length);
  if (from >= to || view.byteOffset + wide > view.buffer.byteLength) {
    if ((await readSource(source, position, view)) < view.length) throw short();
    return;
  }
  new Uint8Array(view.buffer, view.byteOffset, wide).copyWithin(from - position, from - held.position, to - held.position);
  if (from > position && (await readSource(source, position, view.subarray(0, from - position))) < from - position) throw short();
  if (to < end && (await readSource(source, to, view.subarray(to - position))) < end - to) throw short();
}

export interface VcdiffRun {
  bytesWritten: number;
  peakWindowBytes: number;
}

export async function applyVcdiff(engine: VcdiffWindowEngine, source: RangeReader, patchReader: RangeReader, emit: (chunk: Uint8Array) => Promise<void>, budget: number): Promise<VcdiffRun> {
  const input = new PatchInput(patchReader);
  const lzma = await readHeader(input);
  // One LZMA stream per section type, continued from window to window.
  const streams = lzma ? [new XzLzma2Stream(budget), new XzLzma2Stream(budget), new XzLzma2Stream(budget)] : [];
  // Compressed sections as read, reused from window to window (no garbage per window).
  const rawBuffers = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  let written = 0;
  let peak = 0;
  // The source segment the engine's buffer still holds from the previous window.
  let held: Held = { position: 0, length: 0 };
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
    const views = engine.prepare(segmentLength, lengths[0] as number, lengths[1] as number, lengths[2] as number, targetLength);
    await fillSegment(source, views.source, segmentPosition, held, what);
    held = { position: segmentPosition, length: segmentLength };
    const sections = [views.data, views.inst, views.addr];
    for (let k = 0; k < 3; k++) {
      const into = sections[k] as Uint8Array;
      if (deltaIndicator === 0) await input.readInto(into, `VCDIFF ${what} section ${k}`);
      else if (deltaIndicator & (1 << k)) (streams[k] as XzLzma2Stream).decodeSection(raw[k] as Uint8Array, into);
      else into.set(raw[k] as Uint8Array);
    }
    const target = engine.run();
    if (typeof target === 'number') throw windowStatusError(target, index);
    if (checksum >= 0 && engine.adler32() !== checksum) throw new DeltaError('checksumMismatch', `VCDIFF ${what}: Adler-32 of the result does not match (wrong source or corrupt patch)`);
    if (target.length > 0) await emit(target);
    written += target.length;
  }
  return { bytesWritten: written, peakWindowBytes: peak };
}
