/** `dm-agent delta apply`: real patches, format detection, typed failures, no half-written output. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { editImage, prng, randomImage } from './images.ts';

const dir = mkdtempSync(join(tmpdir(), 'dm-delta-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => join(dir, name);

const random = prng(3);
const source = randomImage(200_000, random);
const target = editImage(source, random, 8);
writeFileSync(at('src'), source);
writeFileSync(at('tgt'), target);
execFileSync('xdelta3', ['-e', '-f', '-s', at('src'), at('tgt'), at('x.vcdiff')]);
execFileSync('bsdiff', [at('src'), at('tgt'), at('b.patch')]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const code = await main(args, { stdout: (s) => void (out.stdout += s), stderr: (s) => void (out.stderr += s) });
  return { code, ...out };
}

describe('dm-agent delta apply', () => {
  for (const [patch, format] of [['x.vcdiff', 'vcdiff'], ['b.patch', 'bsdiff']] as const) {
    for (const engine of ['wasm', 'js']) {
      it(`applies a ${format} patch (detected) with the ${engine} engine`, async () => {
        const out = at(`out-${format}-${engine}`);
        const r = await cli('delta', 'apply', at('src'), at(patch), out, '--engine', engine, '--source-sha256', sha(source), '--target-sha256', sha(target));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`sha256 ${sha(target)}`);
        expect(r.stdout).toContain(format);
        expect(readFileSync(out).equals(Buffer.from(target))).toBe(true);
        expect(existsSync(`${out}.partial`)).toBe(false);
      });
    }
  }

  it('--format given explicitly, and a wrong --format is a typed error', async () => {
    expect((await cli('delta', 'apply', at('src'), at('b.patch'), at('o1'), '--format', 'bsdiff')).code).toBe(0);
    const wrong = await cli('delta', 'apply', at('src'), at('b.patch'), at('o2'), '--format', 'vcdiff');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('corrupt');
    expect(existsSync(at('o2'))).toBe(false);
    expect(existsSync(at('o2.partial'))).toBe(false);
  });

  it('a wrong source leaves no output and exits 2', async () => {
    const wrong = source.slice();
    wrong[5000] = (wrong[5000] as number) ^ 0xff;
    writeFileSync(at('wrong'), wrong);
    const r = await cli('delta', 'apply', at('wrong'), at('x.vcdiff'), at('o3'), '--source-sha256', sha(source));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sourceMismatch');
    expect(existsSync(at('o3'))).toBe(false);
    expect(existsSync(at('o3.partial'))).toBe(false);
  });

  it('a truncated patch leaves no output and exits 2', async () => {
    const patch = readFileSync(at('b.patch'));
    writeFileSync(at('cut.patch'), patch.subarray(0, patch.length - 30));
    const r = await cli('delta', 'apply', at('src'), at('cut.patch'), at('o4'));
    expect(r.code).toBe(2);
    expect(existsSync(at('o4'))).toBe(false);
  });

  it('usage errors and missing files exit 2 with a message', async () => {
    expect((await cli('delta')).code).toBe(2);
    expect((await cli('delta', 'apply', at('src'))).stderr).toContain('expected <source> <patch> <out>');
    expect((await cli('delta', 'apply', at('src'), at('x.vcdiff'), at('o'), '--format', 'zip')).code).toBe(2);
    expect((await cli('delta', 'apply', at('src'), at('x.vcdiff'), at('o'), '--source-sha256', 'abc')).code).toBe(2);
    const missing = await cli('delta', 'apply', at('nope'), at('x.vcdiff'), at('o'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });
});
