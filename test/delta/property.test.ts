/**
 * Property tests (fast-check) over patch bytes: for valid patches from the real tools with random
 * mutations (byte flips, truncations, insertions), and for arbitrary bytes behind a valid magic,
 * all engines (wasm, wasm-scalar, js) agree exactly (same output, or the same DeltaError code), and nothing else is ever
 * thrown. Real xdelta3 round trips on random pairs check exactness.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DeltaError } from '../../wasm/index.ts';
import { editImage, prng, randomImage } from './images.ts';
import { applyWith, ENGINES, type DeltaEngineVariant } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'dm-delta-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Outcome = { ok: true; output: string } | { ok: false; code: string };

async function outcome(engine: DeltaEngineVariant, source: Uint8Array, patch: Uint8Array): Promise<Outcome> {
  try {
    const r = await applyWith(engine, source, patch, { windowBudget: 1 << 22 });
    return { ok: true, output: Buffer.from(r.output).toString('base64') };
  } catch (error) {
    if (!(error instanceof DeltaError)) throw error;
    return { ok: false, code: error.code };
  }
}

const random = prng(7);
const source = randomImage(20_000, random);
const target = editImage(source, random, 6, 0.2);
writeFileSync(join(dir, 's'), source);
writeFileSync(join(dir, 't'), target);
execFileSync('xdelta3', ['-e', '-f', '-s', join(dir, 's'), join(dir, 't'), join(dir, 'x')]);
execFileSync('xdelta3', ['-e', '-f', '-S', 'none', '-A', '-n', '-s', join(dir, 's'), join(dir, 't'), join(dir, 'p')]);
execFileSync('bsdiff', [join(dir, 's'), join(dir, 't'), join(dir, 'b')]);
const seeds = ['x', 'p', 'b'].map((n) => new Uint8Array(readFileSync(join(dir, n))));

const mutation = fc.record({
  seed: fc.integer({ min: 0, max: seeds.length - 1 }),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
  cut: fc.option(fc.nat()),
  insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }))),
});

function mutate(m: { seed: number; flips: [number, number][]; cut: number | null; insert: [number, Uint8Array] | null }): Uint8Array {
  let p = (seeds[m.seed] as Uint8Array).slice();
  for (const [at, x] of m.flips) p[at % p.length] = (p[at % p.length] as number) ^ x;
  if (m.insert) {
    const at = m.insert[0] % (p.length + 1);
    p = new Uint8Array([...p.subarray(0, at), ...m.insert[1], ...p.subarray(at)]);
  }
  if (m.cut !== null) p = p.subarray(0, m.cut % (p.length + 1));
  return p;
}

describe('delta properties', () => {
  it('mutated real patches: all engines agree, only DeltaErrors', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const patch = mutate(m);
        const js = await outcome('js', source, patch);
        for (const engine of ENGINES) expect(await outcome(engine, source, patch), engine).toEqual(js);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated bsdiff patches (bzip2 blocks decoded by each engine\'s block decoder): all engines agree', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const flips = m.flips.map(([at, x]): [number, number] => [32 + (at % ((seeds[2] as Uint8Array).length - 32)), x]);
        const patch = mutate({ ...m, seed: 2, flips });
        const js = await outcome('js', source, patch);
        for (const engine of ENGINES) expect(await outcome(engine, source, patch), engine).toEqual(js);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes behind a VCDIFF or BSDIFF40 magic: all engines agree, only DeltaErrors', async () => {
    const magic = fc.constantFrom(new Uint8Array([0xd6, 0xc3, 0xc4, 0]), new TextEncoder().encode('BSDIFF40'));
    await fc.assert(
      fc.asyncProperty(magic, fc.uint8Array({ maxLength: 200 }), async (head, body) => {
        const patch = new Uint8Array([...head, ...body]);
        const js = await outcome('js', source, patch);
        for (const engine of ENGINES) expect(await outcome(engine, source, patch), engine).toEqual(js);
      }),
      { numRuns: 300 },
    );
  });

  it('random pairs through the real xdelta3 apply exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 1 << 30 }), async (size, edits, seed) => {
        const r = prng(seed);
        const s = randomImage(size, r);
        const t = editImage(s, r, edits, 0.3);
        writeFileSync(join(dir, 'ps'), s);
        writeFileSync(join(dir, 'pt'), t);
        execFileSync('xdelta3', ['-e', '-f', '-s', join(dir, 'ps'), join(dir, 'pt'), join(dir, 'pp')]);
        const patch = new Uint8Array(readFileSync(join(dir, 'pp')));
        for (const engine of ENGINES) {
          const got = await applyWith(engine, s, patch);
          expect(Buffer.from(got.output).equals(Buffer.from(t))).toBe(true);
        }
      }),
      { numRuns: 25 },
    );
  });
});
