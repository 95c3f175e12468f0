/**
 * One contract for every command (issue 9, item 11): per-command help, one wording for malformed
 * JSON, the same exit code for the same failure, one mention of a URL in a network error, no
 * EPIPE stack under `| head`, FIFOs and devices refused instead of waited on, `--opt=a=b`, what
 * `run` waits for and does, and a config without a protocol section refused before the disk.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { run as runCommand } from '../../cli/commands/run.ts';
import { createRunLog } from '../../cli/run-log.ts';
import { parseArgs } from '../../cli/spec.ts';
import { errorText } from '../../cli/io.ts';
import { type Rig, acceptCliDevice, newRig, startFleetManager } from '../e2e/harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const capture = () => {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
};

/** Runs `main(args)` in a child process (stdio pipes), killed after `timeoutMs`. */
function child(args: string[], options: { timeoutMs?: number; closeStdoutAfterFirstChunk?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const script = `import(${JSON.stringify(join(ROOT, 'cli/main.ts'))}).then(async (m) => { process.exitCode = await m.main(${JSON.stringify(args)}); });`;
    const proc = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.closeStdoutAfterFirstChunk) proc.stdout.destroy(); // what `head` does
    });
    proc.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-contract-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dm-agent <command> --help', () => {
  const expected: Record<string, string[]> = {
    run: ['--board FILE', '--config FILE', '--work-dir DIR', '--device-id ID', '--file-root DIR', '--ca FILE', '--once'],
    server: ['--fleet FILE', '--port N', '--data-dir DIR', '--tls-cert FILE', '--tls-key FILE', '--quiet'],
    hash: ['--algo sha256|md5', '--engine native|wasm|js|list'],
    diff: ['--json', '--engine wasm|js'],
    demo: ['--keep'],
    board: ['board check <board.json>...'],
    keys: ['--out DIR', '--type ed25519|ecdsa', '--keys DIR', '--sign-with FILE'],
    release: ['--fleet FILE', '--images FOLDER', '--keys DIR', '--out DIR'],
    trust: ['verify <metadata dir>', '--root FILE', '--artifacts DIR'],
  };
  it.each(Object.entries(expected))('%s --help lists its options and exits 0', async (name, options) => {
    const { out, io } = capture();
    expect(await main([name, '--help'], io)).toBe(0);
    for (const option of options) expect(out.stdout).toContain(option);
    expect(out.stdout).toContain('exit codes:');
    // The same text through `dm-agent help <command>`, and -h after other arguments.
    const again = capture();
    expect(await main(['help', name], again.io)).toBe(0);
    expect(again.out.stdout).toBe(out.stdout);
    const late = capture();
    expect(await main([name, 'x', '-h'], late.io)).toBe(0);
    expect(late.out.stdout).toBe(out.stdout);
  });
});

describe('the same failure, the same words and exit code', () => {
  it('malformed JSON: "<file>: malformed JSON" and exit 2 in board, run and diff', async () => {
    const junk = join(dir, 'junk.json');
    await writeFile(junk, '{ "name": ');
    const good = join(dir, 'good.json');
    await writeFile(good, '[]');
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ delivery: { manager: 'http://127.0.0.1:9/', allowInsecure: true } }));
    const cases: string[][] = [
      ['board', 'check', junk],
      ['run', '--board', junk, '--config', config, '--work-dir', join(dir, 'never-1')],
      ['run', '--board', 'boards/sim.json', '--config', junk, '--work-dir', join(dir, 'never-2')],
      ['diff', junk, good],
      ['diff', good, junk],
    ];
    for (const args of cases) {
      const { out, io } = capture();
      expect(await main(args, io), args.join(' ')).toBe(2);
      expect(out.stderr, args.join(' ')).toMatch(new RegExp(`^dm-agent ${args[0]}: .*junk\\.json: malformed JSON: `, 'm'));
    }
    expect(existsSync(join(dir, 'never-1')) || existsSync(join(dir, 'never-2'))).toBe(false);
  });

  it('a missing file is exit 2 in every command that reads one', async () => {
    const nope = join(dir, 'nope.json');
    const cases: string[][] = [['board', 'check', nope], ['hash', nope], ['diff', nope, nope], ['run', '--board', nope, '--config', nope]];
    for (const args of cases) {
      const { out, io } = capture();
      expect(await main(args, io), args.join(' ')).toBe(2);
      expect(out.stderr, args.join(' ')).toContain(`${nope}: cannot read: no such file`);
    }
  });

  it('--opt=a=b keeps a=b', async () => {
    expect(parseArgs([{ name: 'device-id', value: 'ID', help: '' }], ['--device-id=a=b']).options['device-id']).toBe('a=b');
    const file = join(dir, 'data.bin');
    await writeFile(file, 'x');
    const { out, io } = capture();
    expect(await main(['hash', '--algo=sha256=1', file], io)).toBe(2);
    expect(out.stderr).toContain('--algo must be sha256 or md5, got sha256=1');
  });

  it('unknown options are usage errors with the usage line and where the help is', async () => {
    for (const name of ['run', 'hash', 'diff', 'board', 'demo', 'server']) {
      const { out, io } = capture();
      expect(await main(name === 'board' ? [name, 'check', '--frobnicate'] : [name, '--frobnicate'], io), name).toBe(2);
      expect(out.stderr, name).toContain(`dm-agent ${name}: unknown option --frobnicate`);
      expect(out.stderr, name).toContain(`dm-agent ${name} --help`);
    }
  });
});

describe('files that never end', () => {
  it('hash and diff refuse a FIFO and a device instead of hanging', async () => {
    const fifo = join(dir, 'fifo');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]);
    // In child processes: on a build that waits, the child is killed and the test fails.
    const runs = await Promise.all([child(['hash', fifo], { timeoutMs: 20_000 }), child(['hash', '/dev/zero'], { timeoutMs: 20_000 }), child(['diff', fifo, '/dev/zero'], { timeoutMs: 20_000 })]);
    for (const run of runs) {
      expect(run.timedOut, run.stderr).toBe(false);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/cannot read: not a regular file/);
    }
  }, 60_000);
});

describe('output into a closed pipe', () => {
  it('`dm-agent diff … | head` ends quietly: no EPIPE stack trace', async () => {
    const big = join(dir, 'big.json');
    await writeFile(big, JSON.stringify(Array.from({ length: 200_000 }, (_, i) => ({ name: `package-${i}`, version: '1.0.0' }))));
    const empty = join(dir, 'empty.json');
    await writeFile(empty, '[]');
    const run = await child(['diff', empty, big], { closeStdoutAfterFirstChunk: true });
    expect(run.timedOut).toBe(false);
    expect(run.stdout).toContain('install (200000)');
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.code).toBe(0);
  }, 60_000);
});

describe('dm-agent run', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await newRig();
  });
  afterAll(async () => {
    await rig.cleanup();
  });

  it('refuses a config without any protocol section before creating anything on disk', async () => {
    const config = join(rig.dir, 'empty-config.json');
    await writeFile(config, JSON.stringify({ logLevel: 'warn' }));
    const workDir = join(rig.dir, 'must-not-exist');
    const { out, io } = capture();
    expect(await runCommand(['--board', 'boards/sim.json', '--config', config, '--work-dir', workDir, '--once'], io)).toBe(2);
    expect(out.stderr).toMatch(/empty-config\.json: no protocol section/);
    expect(existsSync(workDir)).toBe(false);
  });

  it('names a dead manager URL once in the error', async () => {
    const config = join(rig.dir, 'dead.json');
    const url = 'http://127.0.0.1:9/';
    await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: url, allowInsecure: true } }));
    const { out, io } = capture();
    expect(await runCommand(['--board', 'boards/sim.json', '--config', config, '--work-dir', join(rig.dir, 'dead'), '--once'], io)).toBe(1);
    expect(out.stderr).toContain('127.0.0.1:9');
    expect(out.stderr.split('http://127.0.0.1:9/').length - 1, out.stderr).toBe(1);
  });

  it('long-running: says it waits for the poll window', async () => {
    // A one-hour window starting two hours from now: closed now whatever the time of day.
    const hh = (offset: number) => String((new Date().getUTCHours() + offset) % 24).padStart(2, '0');
    const config = join(rig.dir, 'window.json');
    await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: 'http://127.0.0.1:9/', allowInsecure: true, schedule: { window: `${hh(2)}:00-${hh(3)}:00` } } }));
    const { out, io } = capture();
    const stop = new AbortController();
    const running = runCommand(['--board', 'boards/sim.json', '--config', config, '--work-dir', join(rig.dir, 'window')], io, stop.signal);
    await waitFor(() => out.stderr.includes('waiting for the poll window'));
    stop.abort();
    expect(await running).toBe(0);
    expect(out.stderr).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z waiting for the poll window \(opens in \d+ min\)/);
  });

  it('long-running: logs each install as it happens', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['cli-long'] });
    const config = join(rig.dir, 'long.json');
    await writeFile(config, JSON.stringify({ logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true } }));
    await acceptCliDevice(server, ['--board', 'boards/sim.json', '--config', config, '--work-dir', join(rig.dir, 'long'), '--device-id', 'cli-long']);
    const { out, io } = capture();
    const stop = new AbortController();
    const running = runCommand(['--board', 'boards/sim.json', '--config', config, '--work-dir', join(rig.dir, 'long'), '--device-id', 'cli-long'], io, stop.signal);
    await waitFor(() => /next poll in/.test(out.stderr));
    stop.abort();
    expect(await running, out.stderr).toBe(0);
    expect(out.stderr.match(/Z installed \S+ \S+/g)?.length, out.stderr).toBe(4);
    expect(out.stderr).toMatch(/plan: 4 to install/);
  });
});

describe('the run log', () => {
  const lines = (events: Parameters<ReturnType<typeof createRunLog>>[0][]) => {
    let text = '';
    const log = createRunLog((line) => void (text += line), () => new Date(0));
    for (const event of events) log(event);
    return text.split('\n').filter(Boolean).map((line) => line.slice('1970-01-01T00:00:00.000Z '.length));
  };
  it('names each condition once until it changes, and every removal and failure', () => {
    expect(
      lines([
        { kind: 'waiting', reason: 'batteryLow', delayMs: 60_000 },
        { kind: 'waiting', reason: 'batteryLow', delayMs: 60_000 },
        { kind: 'waiting', reason: 'needsExternalPower', delayMs: 60_000 },
        { kind: 'waiting', reason: 'networkDown', delayMs: 30_000 },
        { kind: 'jobEnd', jobId: 'j', action: 'remove', name: 'maps', version: '1', ok: true },
        { kind: 'cycleEnd', summary: { installed: [], upgraded: [], removed: ['maps'], failed: [{ name: 'nav', version: '2', action: 'install', reason: 'digest mismatch' }], kept: 0, skipped: [], reports: [], referenceCounter: 1 } as never },
        { kind: 'cycleFailed', error: 'http://m/x: POST http://m/x: connect ECONNREFUSED', retryInMs: 5000 },
      ]),
    ).toEqual([
      'waiting for the battery to charge (checking again in 60 s)',
      'waiting for external power (checking again in 60 s)',
      'waiting for the network (checking again in 30 s)',
      'removed maps 1',
      'FAILED to install nav 2: digest mismatch',
      'poll failed: http://m/x: connect ECONNREFUSED',
    ]);
  });
  it('errorText keeps the first mention of each URL', () => {
    expect(errorText(new Error('https://a.example/p: GET https://a.example/p: timeout; see http://b/'))).toBe('https://a.example/p: timeout; see http://b/');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
