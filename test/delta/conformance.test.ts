/**
 * Every VCDIFF and bsdiff triple in ../shared/conformance (read in place) against both engines.
 * Refused on purpose (with the reason asserted):
 *   snowflake interleaved/checksum/checksum_interleaved.openvcdiff, open-vcdiff allocates_4gb.vcdiff
 *     — open-vcdiff's format extension (version byte 'S'), which xdelta3 refuses too
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeltaError } from '../../wasm/index.ts';
import { applyError, applyWith, CONFORMANCE_DIR, ENGINES } from './support.ts';

const VCDIFF = join(CONFORMANCE_DIR, 'vcdiff');
const ABLY = join(VCDIFF, 'ably-vcdiff-tests');
const SNOW = join(VCDIFF, 'snowflake-vcdiff-patches');
const OPEN = join(VCDIFF, 'open-vcdiff-testdata');
const BSDIFF = join(CONFORMANCE_DIR, 'bsdiff', 'zhuyie-bsdiff-simple');

function ablyCases(dir: string): string[] {
  if (existsSync(join(dir, 'delta.vcdiff'))) return [dir];
  return readdirSync(dir)
    .filter((e) => statSync(join(dir, e)).isDirectory())
    .sort()
    .flatMap((e) => ablyCases(join(dir, e)));
}

const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));
const optional = (path: string): Uint8Array => (existsSync(path) ? read(path) : new Uint8Array(0));

const ably = ablyCases(ABLY).map((dir) => {
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as { expected_behavior?: string };
  return { name: dir.slice(ABLY.length + 1), dir, negative: meta.expected_behavior === 'error' };
});

describe('conformance material', () => {
  it('is all there (79 ably cases, 33 of them negative)', () => {
    expect(ably).toHaveLength(79);
    expect(ably.filter((c) => c.negative)).toHaveLength(33);
  });
});

describe.each(ENGINES)('VCDIFF conformance (%s)', (engine) => {
  for (const c of ably) {
    it(`${c.negative ? 'rejects' : 'applies'} ably ${c.name}`, async () => {
      const source = optional(join(c.dir, 'source'));
      const patch = read(join(c.dir, 'delta.vcdiff'));
      if (c.negative) {
        const error = await applyError(engine, source, patch);
        expect(error).toBeInstanceOf(DeltaError);
      } else {
        const result = await applyWith(engine, source, patch);
        expect(Buffer.from(result.output).equals(readFileSync(join(c.dir, 'target')))).toBe(true);
        expect(result.bytesWritten).toBe(result.output.length);
      }
    });
  }

  for (const [patch, source, target] of [
    ['patch.openvcdiff', 'a.test', 'b.test'],
    ['sample.xdelta', 'a.test', 'b.test'],
    ['sample_appheader.xdelta', 'a.test', 'b.test'],
    ['win_indicator_zero.xdelta', 'empty.test', 'win_indicator_zero.test'],
    ['a-to-b-lzma-compression.xdelta', 'a.test', 'b.test'],
  ] as const) {
    it(`applies snowflake ${patch}`, async () => {
      const result = await applyWith(engine, read(join(SNOW, source)), read(join(SNOW, patch)));
      expect(Buffer.from(result.output).equals(readFileSync(join(SNOW, target)))).toBe(true);
    });
  }

  for (const patch of ['interleaved.openvcdiff', 'checksum.openvcdiff', 'checksum_interleaved.openvcdiff']) {
    it(`refuses snowflake ${patch}: open-vcdiff 'S' extension`, async () => {
      const error = await applyError(engine, read(join(SNOW, 'a.test')), read(join(SNOW, patch)));
      expect(error.code).toBe('unsupported');
      expect(error.message).toContain("'S'");
    });
  }

  for (const [id, name] of [[1, 'DJW'], [16, 'FGK']] as const) {
    it(`refuses the ${name} secondary compressor, naming it`, async () => {
      // The LZMA patch with its compressor id byte (after magic, version, indicator) replaced.
      const patch = read(join(SNOW, 'a-to-b-lzma-compression.xdelta'));
      expect(patch[5]).toBe(2);
      patch[5] = id;
      const error = await applyError(engine, read(join(SNOW, 'a.test')), patch);
      expect(error.code).toBe('unsupported');
      expect(error.message).toContain(name);
    });
  }

  it('rejects open-vcdiff allocates_4gb.vcdiff without allocating', async () => {
    const error = await applyError(engine, read(join(OPEN, 'configure.ac.v0.1')), read(join(OPEN, 'allocates_4gb.vcdiff')));
    expect(error).toBeInstanceOf(DeltaError);
  });

  it('rejects open-vcdiff size-overflow-delta', async () => {
    const error = await applyError(engine, read(join(OPEN, 'size-overflow-dictionary')), read(join(OPEN, 'size-overflow-delta')));
    expect(error.code).toBe('corrupt');
  });
});

describe.each(ENGINES)('bsdiff conformance (%s)', (engine) => {
  it('applies zhuyie v1 + v1_v2.patch → v2', async () => {
    const result = await applyWith(engine, read(join(BSDIFF, 'v1')), read(join(BSDIFF, 'v1_v2.patch')));
    expect(Buffer.from(result.output).equals(readFileSync(join(BSDIFF, 'v2')))).toBe(true);
    expect(result.format).toBe('bsdiff');
  });
});
