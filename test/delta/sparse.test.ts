/**
 * The WASM engine reads only the source ranges a VCDIFF window copies (wasm/assembly/delta-ranges.ts,
 * wasm/src/vcdiff-source.ts), through `readInto` when the reader has it, and emits each target
 * window while the next window's source is read. Hand-made instruction streams (copies in any
 * order, overlapping, thousands of scattered ranges, windows whose memory grows between run and
 * emit) against a reference decoder, with every engine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeltaError, type RangeReader } from '../../wasm/index.ts';
import { engines, ENGINES, memoryReader, type DeltaEngineVariant } from './support.ts';
import { expand, writeVcdiff, type Op, type Window } from './vcdiff-writer.ts';

/** A source of any size without holding it: byte k is a hash of k. */
const virtualByte = (k: number): number => (Math.imul(k ^ (k >>> 13), 0x9e3779b1) >>> 24) & 0xff;
function virtualRead(size: number, offset: number, length: number): Uint8Array {
  const end = Math.min(size, offset + length);
  const out = new Uint8Array(Math.max(0, end - offset));
  for (let k = 0; k < out.length; k++) out[k] = virtualByte(offset + k);
  return out;
}

interface Run {
  output: Uint8Array;
  chunks: number[];
  sourceBytesRead: number;
}

/** Applies, counting the source bytes read; `into` gives the reader readInto. */
async function apply(engine: DeltaEngineVariant, read: (offset: number, length: number) => Uint8Array, patch: Uint8Array, into: boolean, windowBudget = 1 << 24): Promise<Run> {
  let sourceBytesRead = 0;
  const plain = (offset: number, length: number): Uint8Array => {
    const bytes = read(offset, length);
    sourceBytesRead += bytes.length;
    return bytes;
  };
  const source: RangeReader = into
    ? Object.assign(plain, {
        readInto: async (offset: number, view: Uint8Array) => {
          // A partial read now and then: the driver must ask again.
          const bytes = plain(offset, view.length > 4096 ? view.length - 1000 : view.length);
          view.set(bytes);
          return bytes.length;
        },
      })
    : plain;
  const e = await engines(engine);
  const parts: Uint8Array[] = [];
  await e.applyDelta(source, memoryReader(patch), (chunk) => void parts.push(chunk.slice()), { windowBudget });
  const output = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of parts) {
    output.set(c, at);
    at += c.length;
  }
  return { output, chunks: parts.map((c) => c.length), sourceBytesRead };
}

function reference(read: (offset: number, length: number) => Uint8Array, windows: Window[]): Uint8Array[] {
  return windows.map((w) => expand(w.segment ? read(w.segment.position, w.segment.length) : new Uint8Array(0), w.ops));
}

/** Random windows over a source of `size` bytes: copies anywhere in the segment, in any order, from the target too. */
const windowsArb = (size: number) =>
  fc.array(
    fc
      .record({
        position: fc.nat({ max: size - 1 }),
        length: fc.integer({ min: 1, max: 40_000 }),
        picks: fc.array(fc.tuple(fc.nat({ max: 3 }), fc.nat(), fc.integer({ min: 1, max: 3000 }), fc.uint8Array({ minLength: 1, maxLength: 20 })), { minLength: 1, maxLength: 40 }),
        adler32: fc.boolean(),
      })
      .map(({ position, length, picks, adler32 }): Window => {
        const segment = { position, length: Math.min(length, size - position) };
        const ops: Op[] = [];
        let produced = 0;
        for (const [kind, where, n, bytes] of picks) {
          if (kind === 0 || (kind === 3 && produced === 0)) ops.push({ add: bytes });
          else if (kind === 1) ops.push({ run: bytes[0] as number, n });
          else if (kind === 2) ops.push({ copy: where % segment.length, n });
          else ops.push({ copy: segment.length + (where % produced), n }); // from the target, may overlap what it writes
          produced += 'add' in (ops[ops.length - 1] as Op) ? bytes.length : n;
        }
        return { segment, ops, adler32 };
      }),
    { minLength: 1, maxLength: 4 },
  );

describe.each(ENGINES)('sparse VCDIFF source reads (%s)', (engine) => {
  it('random instruction streams give the reference output, window by window, with and without readInto', async () => {
    const size = 200_000;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    await fc.assert(
      fc.asyncProperty(windowsArb(size), fc.boolean(), async (windows, into) => {
        const patch = writeVcdiff(read, windows);
        const expected = reference(read, windows);
        const run = await apply(engine, read, patch, into);
        expect(run.chunks).toEqual(expected.map((w) => w.length).filter((n) => n > 0));
        expect(Buffer.from(run.output).equals(Buffer.concat(expected))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('windows that need more memory than the one before (the previous target is emitted after the memory grew)', async () => {
    const size = 3_000_000;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    const windows: Window[] = [
      { segment: { position: 0, length: 1000 }, ops: [{ copy: 0, n: 1000 }], adler32: true },
      { segment: { position: 5000, length: 2_900_000 }, ops: [{ copy: 2_000_000, n: 900_000 }, { copy: 10, n: 2_000_000 }, { add: new Uint8Array([1, 2, 3]) }], adler32: true },
      { segment: { position: 0, length: 10 }, ops: [{ run: 7, n: 5 }, { copy: 3, n: 2 }] },
    ];
    const run = await apply(engine, read, writeVcdiff(read, windows), true);
    expect(Buffer.from(run.output).equals(Buffer.concat(reference(read, windows)))).toBe(true);
  });

  it('the WASM engine reads only the copied ranges of a large segment; the JS engine the segment', async () => {
    const size = 4_000_000;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    // Copies far apart, out of order, one overlapping another.
    const ops: Op[] = [{ copy: 3_500_000, n: 5000 }, { copy: 100, n: 3000 }, { copy: 2_000_000, n: 4000 }, { copy: 2_001_000, n: 6000 }];
    const windows: Window[] = [{ segment: { position: 10_000, length: 3_900_000 }, ops, adler32: true }];
    const run = await apply(engine, read, writeVcdiff(read, windows), true);
    expect(Buffer.from(run.output).equals(Buffer.concat(reference(read, windows)))).toBe(true);
    if (engine === 'js') expect(run.sourceBytesRead).toBeGreaterThanOrEqual(3_900_000);
    // 5000 + 3000 + 7000 bytes copied, the 16 KiB merge gap at most once per range, and one byte of the segment's end.
    else expect(run.sourceBytesRead).toBeLessThan(100_000);
  });

  it('more scattered ranges than the table holds collapse into one range, same output', async () => {
    // 4200 copies 16 500 bytes apart (past the 16 KiB merge gap): more than MAX_RANGES (4096).
    const size = 4200 * 16_500 + 10;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    const ops: Op[] = Array.from({ length: 4200 }, (_, k) => ({ copy: ((k * 7919) % 4200) * 16_500, n: 3 }));
    const windows: Window[] = [{ segment: { position: 0, length: size }, ops, adler32: true }];
    const run = await apply(engine, read, writeVcdiff(read, windows), true, size + (1 << 20));
    expect(Buffer.from(run.output).equals(Buffer.concat(reference(read, windows)))).toBe(true);
  });

  it('a source shorter than the segment is the wrong source, even when the copies stay inside it', async () => {
    const size = 100_000;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    const windows: Window[] = [{ segment: { position: 50_000, length: 60_000 }, ops: [{ copy: 0, n: 1000 }] }];
    const patch = writeVcdiff((o, n) => virtualRead(size + 10_000, o, n), windows);
    const error = await apply(engine, read, patch, true).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeltaError);
    expect((error as DeltaError).code).toBe('sourceMismatch');
  });

  it('a readInto that claims more bytes than asked is refused with invalidOptions', async () => {
    const size = 100_000;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    const patch = writeVcdiff(read, [{ segment: { position: 0, length: 50_000 }, ops: [{ copy: 0, n: 30_000 }] }]);
    const source: RangeReader = Object.assign(read, { readInto: (_offset: number, view: Uint8Array) => view.length + 1 });
    const e = await engines(engine);
    await expect(e.applyDelta(source, memoryReader(patch), () => undefined)).rejects.toMatchObject({ name: 'DeltaError', code: 'invalidOptions' });
  });
});

// The JS engine reads whole segments before it runs a window, so the emit-during-read order is the WASM engines' alone.
describe.each(ENGINES.filter((e) => e !== 'js'))('emit order of the sparse reads (%s)', (engine) => {
  it('the previous target is emitted during the next source reads, unless keeping it would pass the budget', async () => {
    const size = 200_000;
    const read = (offset: number, length: number): Uint8Array => virtualRead(size, offset, length);
    const windows: Window[] = [
      { ops: [{ run: 9, n: 100_000 }] },
      { segment: { position: 0, length: 150_000 }, ops: [{ copy: 1000, n: 1000 }] },
    ];
    const patch = writeVcdiff(read, windows);
    const order = async (windowBudget: number): Promise<string[]> => {
      const events: string[] = [];
      const source: RangeReader = Object.assign(read, {
        readInto: (offset: number, view: Uint8Array) => {
          events.push('read');
          view.set(read(offset, view.length));
          return view.length;
        },
      });
      const e = await engines(engine);
      await e.applyDelta(source, memoryReader(patch), (chunk) => void events.push(`sink ${chunk.length}`), { windowBudget });
      return events;
    };
    // Window 1 needs 150 000 + 1000 + its sections; keeping window 0's 100 000 as well needs 250 000 and more.
    expect(await order(400_000)).toEqual(['read', 'sink 100000', 'sink 1000']);
    expect(await order(200_000)).toEqual(['sink 100000', 'read', 'sink 1000']);
  });
});
