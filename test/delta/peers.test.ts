/**
 * Real peers: random image pairs diffed by the real xdelta3 (default options = LZMA secondary
 * compression + Adler-32, and `-S none -A -n`) and the real bsdiff 4.3 (installed by
 * test/setup/system-deps.sh) apply with ours, in both engines, to the exact target. Most cases
 * are small; one xdelta3 pair is 64 MiB (several windows, source read from a file at random
 * offsets; WASM engine only, the JS engine's output is compared with it on every smaller case).
 * bsdiff stops at 1 MiB: bsdiff's own suffix sort gets slow (minutes at 64 MiB) and needs ~17×
 * the image in memory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { fileSink, openRangeFile } from '../../wasm/node-delta-files.ts';
import { editImage, prng, randomImage } from './images.ts';
import { applyWith, engines, ENGINES } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'dm-delta-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Tool = 'xdelta3' | 'xdelta3-plain' | 'bsdiff';

function diff(tool: Tool, source: string, target: string, patch: string): void {
  if (tool === 'bsdiff') execFileSync('bsdiff', [source, target, patch]);
  else if (tool === 'xdelta3') execFileSync('xdelta3', ['-e', '-f', '-s', source, target, patch]);
  else execFileSync('xdelta3', ['-e', '-f', '-S', 'none', '-A', '-n', '-s', source, target, patch]);
}

let counter = 0;
function pair(sourceSize: number, seed: number, edits: number, tool: Tool): { source: Uint8Array; target: Uint8Array; patch: Uint8Array } {
  const random = prng(seed);
  const source = randomImage(sourceSize, random);
  const target = edits < 0 ? randomImage(Math.floor(random() * 5000), random) : editImage(source, random, edits);
  const base = join(dir, `case${counter++}`);
  writeFileSync(`${base}.src`, source);
  writeFileSync(`${base}.tgt`, target);
  diff(tool, `${base}.src`, `${base}.tgt`, `${base}.patch`);
  return { source, target, patch: new Uint8Array(readFileSync(`${base}.patch`)) };
}

const SMALL: [number, number, number][] = [
  // [source size, seed, edits]; edits -1: unrelated target.
  [0, 1, -1],
  [0, 2, 0],
  [1, 3, 1],
  [100, 4, 3],
  [4096, 5, 0],
  [4096, 6, -1],
  [65_536, 7, 10],
  [300_000, 8, 20],
  [1_000_000, 9, 30],
  [2_000_000, 10, 40],
];

for (const tool of ['xdelta3', 'xdelta3-plain', 'bsdiff'] as const) {
  describe(`${tool} patches apply exactly`, () => {
    // bsdiff 4.3 cannot diff from an empty old file (it fails to map it), so it starts at 1 byte.
    for (const [size, seed, edits] of SMALL.filter(([size]) => tool !== 'bsdiff' || (size > 0 && size <= 1_000_000))) {
      it(`source ${size} B, seed ${seed}, ${edits} edits`, async () => {
        const { source, target, patch } = pair(size, seed, edits, tool);
        for (const engine of ENGINES) {
          const result = await applyWith(engine, source, patch);
          expect(Buffer.from(result.output).equals(Buffer.from(target)), `${engine} output`).toBe(true);
          expect(Buffer.from(result.sha256).toString('hex')).toBe(createHash('sha256').update(target).digest('hex'));
        }
      });
    }
  });
}

describe('64 MiB image, xdelta3 default options, files read at random offsets', () => {
  it('the WASM engine writes the exact target', async () => {
    const engine = 'wasm';
    const base = join(dir, 'big');
    {
      const random = prng(64);
      const source = randomImage(64 << 20, random);
      writeFileSync(`${base}.src`, source);
      writeFileSync(`${base}.tgt`, editImage(source, random, 12));
      diff('xdelta3', `${base}.src`, `${base}.tgt`, `${base}.patch`);
    }
    const src = await openRangeFile(`${base}.src`);
    const patch = await openRangeFile(`${base}.patch`);
    const out = await open(`${base}.${engine}.out`, 'w');
    try {
      const e = await engines(engine);
      const result = await e.applyDelta(src.read, patch.read, fileSink(out));
      expect(result.peakWindowBytes).toBeLessThanOrEqual(72 << 20);
    } finally {
      await Promise.all([src.close(), patch.close(), out.close()]);
    }
    expect(readFileSync(`${base}.${engine}.out`).equals(readFileSync(`${base}.tgt`))).toBe(true);
  }, 240_000);
});
