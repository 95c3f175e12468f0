/**
 * The fuzz runner itself (fuzz/run.ts), as `npm run fuzz` runs it: worker threads, the watchdog
 * that stops a parser stuck in a synchronous loop, saved findings and their replay.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'fuzz-runner-'));
const empty = mkdtempSync(join(tmpdir(), 'fuzz-regressions-'));
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

function fuzz(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'fuzz/run.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run fuzz', () => {
  it('stops a hanging input, saves every finding, goes on and exits 1', () => {
    const run = fuzz('--targets', 'test/fuzz/fixtures', '--out', out, '--regressions', empty, '--inputs', '40', '--seed', '7');
    expect(run.code, run.stderr).toBe(1);
    const line = run.stdout.split('\n').find((l) => l.startsWith('broken')) ?? '';
    expect(line).toMatch(/\b40 inputs\b/);
    // Seeds [2], [3], [4], [5] each come first as they are: one hang by the watchdog, one by the timer.
    expect(line).toMatch(/\b[1-9]\d* unexpected\b/);
    expect(line).toMatch(/\b([2-9]|\d\d+) hangs\b/);
    expect(line).toMatch(/\b[1-9]\d* uncaught\b/);
    expect(run.stdout).toContain('fuzz: findings in broken');
    // [2], [3] and [5] at least (the late error of [4] surfaces while [5] runs and is filed with it).
    const saved = readdirSync(join(out, 'broken')).filter((f) => f.endsWith('.bin'));
    expect(saved.length).toBeGreaterThanOrEqual(3);
  });

  it('--replay runs the saved inputs again and still finds them', () => {
    const run = fuzz('--targets', 'test/fuzz/fixtures', '--out', out, '--regressions', empty, '--replay');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/broken\s+\d+ inputs/);
  });

  it('refuses an unknown target with exit 2', () => {
    const run = fuzz('--targets', 'test/fuzz/fixtures', '--only', 'nope', '--inputs', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown fuzz target nope');
  });
});

describe('saved crashers and regressions', () => {
  it('every input in fuzz/crashers and fuzz/regressions now passes its target', () => {
    const run = fuzz('--replay');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  });
});
