/**
 * Bad input and wrong sources: typed DeltaErrors, and nothing written where the check comes
 * before output (source digest, window budget, header problems).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeltaError } from '../../wasm/index.ts';
import { editImage, prng, randomImage } from './images.ts';
import { applyError, applyWith, engines, ENGINES, memoryReader, type DeltaEngineVariant } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'dm-delta-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const random = prng(42);
const source = randomImage(300_000, random);
const target = editImage(source, random, 10);
writeFileSync(join(dir, 'src'), source);
writeFileSync(join(dir, 'tgt'), target);
execFileSync('xdelta3', ['-e', '-f', '-s', join(dir, 'src'), join(dir, 'tgt'), join(dir, 'x.vcdiff')]);
execFileSync('xdelta3', ['-e', '-f', '-S', 'none', '-A', '-n', '-s', join(dir, 'src'), join(dir, 'tgt'), join(dir, 'p.vcdiff')]);
execFileSync('bsdiff', [join(dir, 'src'), join(dir, 'tgt'), join(dir, 'b.bsdiff')]);
const patches = {
  xdelta3: new Uint8Array(readFileSync(join(dir, 'x.vcdiff'))),
  plain: new Uint8Array(readFileSync(join(dir, 'p.vcdiff'))),
  bsdiff: new Uint8Array(readFileSync(join(dir, 'b.bsdiff'))),
};
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

async function written(engine: DeltaEngineVariant, src: Uint8Array, patch: Uint8Array, options: object): Promise<{ bytes: number; error: unknown }> {
  const e = await engines(engine);
  let bytes = 0;
  try {
    await e.applyDelta(memoryReader(src), memoryReader(patch), (c) => void (bytes += c.length), options);
  } catch (error) {
    return { bytes, error };
  }
  return { bytes, error: undefined };
}

describe.each(ENGINES)('delta errors (%s)', (engine) => {
  it('a wrong source fails the Adler-32 check of the window (xdelta3 default)', async () => {
    const wrong = source.slice();
    wrong[1000] = (wrong[1000] as number) ^ 1;
    wrong[200_000] = (wrong[200_000] as number) ^ 1;
    const error = await applyError(engine, wrong, patches.xdelta3);
    expect(error.code).toBe('checksumMismatch');
  });

  for (const [name, patch] of Object.entries(patches)) {
    it(`${name}: the source digest is checked first, nothing written`, async () => {
      const wrong = source.slice(1);
      const { bytes, error } = await written(engine, wrong, patch, { sourceSha256: sha(source) });
      expect((error as DeltaError).code).toBe('sourceMismatch');
      expect(bytes).toBe(0);
    });

    it(`${name}: the right source digest and target digest pass`, async () => {
      const result = await applyWith(engine, source, patch, { sourceSha256: sha(source), targetSha256: sha(target) });
      expect(Buffer.from(result.output).equals(Buffer.from(target))).toBe(true);
    });

    it(`${name}: a wrong expected target digest is targetMismatch`, async () => {
      const error = await applyError(engine, source, patch, { targetSha256: sha(source) });
      expect(error.code).toBe('targetMismatch');
    });

    it(`${name}: every truncation is a typed error or (VCDIFF, at a window end) a short result`, async () => {
      const cuts = new Set<number>([0, 1, 3, 4, 5, 8, 31, 32, 33, patch.length - 1]);
      for (let k = 0; k < 40; k++) cuts.add(Math.floor(random() * patch.length));
      for (const cut of cuts) {
        const { error } = await written(engine, source, patch.subarray(0, cut), { targetSha256: sha(target) });
        expect(error, `cut at ${cut}`).toBeInstanceOf(DeltaError);
      }
    });
  }

  it('a window over the budget is refused before anything is written', async () => {
    const { bytes, error } = await written(engine, source, patches.plain, { windowBudget: 1000 });
    expect((error as DeltaError).code).toBe('windowTooLarge');
    expect(bytes).toBe(0);
  });

  it('an LZMA dictionary over the budget is refused', async () => {
    const { error } = await written(engine, source, patches.xdelta3, { windowBudget: 600_000 });
    expect((error as DeltaError).code).toBe('windowTooLarge');
  });

  it('a source shorter than the patch needs is sourceMismatch', async () => {
    const error = await applyError(engine, source.subarray(0, 1000), patches.plain);
    expect(error.code).toBe('sourceMismatch');
  });

  it('bsdiff: a flipped byte in a bzip2 block is a typed error', async () => {
    for (const at of [40, 60, Math.floor(patches.bsdiff.length / 2), patches.bsdiff.length - 20]) {
      const bad = patches.bsdiff.slice();
      bad[at] = (bad[at] as number) ^ 0x10;
      const { error } = await written(engine, source, bad, {});
      expect(error, `flip at ${at}`).toBeInstanceOf(DeltaError);
    }
  });

  it('unknown formats and bad options are typed errors', async () => {
    expect((await applyError(engine, source, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).code).toBe('corrupt');
    expect((await applyError(engine, source, patches.plain, { format: 'zip' as never })).code).toBe('invalidOptions');
    expect((await applyError(engine, source, patches.plain, { windowBudget: -1 })).code).toBe('invalidOptions');
    expect((await applyError(engine, source, patches.plain, { sourceSha256: new Uint8Array(3) })).code).toBe('invalidOptions');
    expect((await applyError(engine, source, patches.plain, { format: 'bsdiff' })).code).toBe('corrupt');
  });
});
