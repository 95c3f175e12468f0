/** `dm-agent hash` and `dm-agent diff`: called in-process through run(), and once each as a process. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planJsonChunks, planTextChunks, planToJson, run as diff } from '../../cli/commands/diff.ts';
import { run as hash } from '../../cli/commands/hash.ts';
import type { DiffPlan, PackageEntry } from '../../wasm/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

async function call(command: typeof hash, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await command(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

function spawnCommand(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'test/wasm/run-command.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
}

const installed = [
  { name: 'zlib', version: '1.2' },
  { name: 'openssl', version: '3.0', digest: 'aa' },
  { name: 'old', version: '1' },
  { name: 'café', version: '2' },
];
const desired = [
  { name: 'openssl', version: '3.1', digest: 'bb' },
  { name: 'zlib', version: '1.2' },
  { name: 'new tool', version: '0.1', optional: true },
  { name: 'café', version: '2' },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dm-agent-cli-'));
  const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 131) >> 3);
  writeFileSync(join(dir, 'blob.bin'), data);
  writeFileSync(join(dir, 'empty.bin'), new Uint8Array(0));
  writeFileSync(join(dir, 'installed.json'), JSON.stringify(installed));
  writeFileSync(join(dir, 'desired.json'), JSON.stringify(desired));
  writeFileSync(join(dir, 'broken.json'), '[{"name": "a", "version": ');
  writeFileSync(join(dir, 'object.json'), '{"name": "a"}');
  writeFileSync(join(dir, 'dups.json'), JSON.stringify([{ name: 'a', version: '1' }, { name: 'a', version: '2' }]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dm-agent hash', () => {
  it('--engine list: native (node:crypto), wasm and js, in the order the agent picks them', async () => {
    const result = await call(hash, ['--engine', 'list']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/).slice(0, 2).join(' '))).toEqual(['native available', 'wasm available', 'js available']);
    expect(result.stdout).toMatch(/node:crypto/);
  });

  for (const engine of ['native', 'wasm', 'js']) {
    it(`--engine ${engine}: equals sha256sum and md5sum`, async () => {
      for (const file of ['blob.bin', 'empty.bin']) {
        const path = join(dir, file);
        const sha = (await call(hash, [path, '--engine', engine])).stdout;
        expect(sha).toBe(`${execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]}\n`);
        const md5 = await call(hash, [path, '--algo', 'md5', `--engine=${engine}`]);
        expect(md5).toEqual({ code: 0, stdout: `${execFileSync('md5sum', [path], { encoding: 'utf8' }).split(' ')[0]}\n`, stderr: '' });
      }
    });
  }

  it('bad input: exit 2 with a clear message, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.bin')], /missing\.bin: cannot read: no such file/],
      [[dir], /cannot read: is a directory/],
      [[], /missing <file>/],
      [[join(dir, 'blob.bin'), '--algo', 'sha1'], /--algo must be sha256 or md5/],
      [[join(dir, 'blob.bin'), '--engine', 'gpu'], /--engine must be native, wasm, js or list/],
      [[join(dir, 'blob.bin'), '--frobnicate'], /unknown option --frobnicate/],
    ];
    for (const [args, message] of cases) {
      const result = await call(hash, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('as a process: prints the digest, exit 0; missing file exit 2', () => {
    const ok = spawnCommand(['hash', join(dir, 'blob.bin')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`${execFileSync('sha256sum', [join(dir, 'blob.bin')], { encoding: 'utf8' }).split(' ')[0]}\n`);
    const missing = spawnCommand(['hash', join(dir, 'nope')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('dm-agent diff', () => {
  const expectedJson = {
    install: [{ name: 'new tool', version: '0.1' }],
    upgrade: [{ name: 'openssl', from: '3.0', to: '3.1' }],
    remove: [{ name: 'old', version: '1' }],
    keep: [
      { name: 'café', version: '2' },
      { name: 'zlib', version: '1.2' },
    ],
  };

  for (const engine of ['wasm', 'js']) {
    it(`--json (${engine}): the plan as JSON, lists sorted by name`, async () => {
      const result = await call(diff, [join(dir, 'installed.json'), join(dir, 'desired.json'), '--json', '--engine', engine]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual(expectedJson);
    });
  }

  it('readable form lists the changes and counts the rest', async () => {
    const result = await call(diff, [join(dir, 'installed.json'), join(dir, 'desired.json')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(['install (1)', '  + "new tool" 0.1', 'upgrade (1)', '  ~ openssl 3.0 -> 3.1', 'remove (1)', '  - old 1', 'keep (2) unchanged', ''].join('\n'));
  });

  it('bad input: missing file, malformed JSON, not an array, duplicate names → exit 2', async () => {
    const good = join(dir, 'installed.json');
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.json'), good], /missing\.json: cannot read: no such file/],
      [[good, join(dir, 'broken.json')], /broken\.json: malformed JSON/],
      [[join(dir, 'object.json'), good], /object\.json: installed must be an array/],
      [[good, join(dir, 'dups.json')], /dups\.json: desired: package name "a" occurs more than once/],
      [[good], /expected <installed\.json> and <desired\.json>/],
    ];
    for (const [args, message] of cases) {
      const result = await call(diff, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('as a process: --json output and exit codes', () => {
    const ok = spawnCommand(['diff', join(dir, 'installed.json'), join(dir, 'desired.json'), '--json']);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual(expectedJson);
    const duplicate = spawnCommand(['diff', join(dir, 'dups.json'), join(dir, 'desired.json')]);
    expect(duplicate.status).toBe(2);
    expect(duplicate.stderr).toMatch(/occurs more than once/);
  });

  it('long plans are written in batches with the same text as one JSON.stringify / one listing', () => {
    const make = (n: number, tag: string): PackageEntry[] => Array.from({ length: n }, (_, i) => ({ name: `${tag}-${i}`, version: `v${i}` }));
    const plan: DiffPlan = {
      install: make(2_500, 'new'),
      upgrade: make(1_001, 'up').map((to) => ({ from: { ...to, version: '0' }, to })),
      remove: [],
      keep: make(1_000, 'same').map((e) => ({ installed: e, desired: e })),
    };
    const chunks = [...planJsonChunks(plan)];
    expect(chunks.join('')).toBe(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(100_000);
    const text = [...planTextChunks(plan)].join('').split('\n');
    expect(text).toEqual([
      'install (2500)',
      ...plan.install.map((e) => `  + ${e.name} ${e.version}`),
      'upgrade (1001)',
      ...plan.upgrade.map((u) => `  ~ ${u.to.name} 0 -> ${u.to.version}`),
      'remove (0)',
      'keep (1000) unchanged',
      '',
    ]);
  });
});
