/**
 * The shared HAL suites against the Node HAL (real files under os.tmpdir(), real child
 * processes), plus what only it has: the flash image file, the boot record and the reboot exit
 * code, process-group kills, /sys/class/power_supply, symlink escapes and the wasm host.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { utf8Encode } from '../agent/util/bytes.ts';
import { InvalidOptionsError, NotFoundError } from '../hal/errors.ts';
import { BOOT_RECORD_FILE, FLASH_IMAGE_FILE, type NodeDevice, type NodeDeviceOptions, REBOOT_EXIT_CODE, createNodeDevice, findPackageRoot } from '../hal/node/index.ts';
import type { LogRecord } from '../hal/types.ts';
import { FILE_TREE, type CreateOptions, type HalFixture, type HalTarget, SECRET_CONTENT, SECRET_FILE, TEST_BOARD } from './shared/hal/fixture.ts';
import { expectFailure, pattern } from './shared/hal/helpers.ts';
import { describeHalSuites } from './shared/hal/index.ts';

const repoRoot = dirname(fileURLToPath(import.meta.url)).replace(/\/test$/, '');
const node = process.execPath;

// One file tree for all tests (read-only), with symlinks in and out of the root.
const base = mkdtempSync(join(tmpdir(), 'dm-hal-node-'));
const ROOT = join(base, 'data');
const OUTSIDE = join(base, 'outside');
for (const [path, content] of Object.entries(FILE_TREE)) {
  mkdirSync(dirname(join(ROOT, path)), { recursive: true });
  writeFileSync(join(ROOT, path), content);
}
mkdirSync(OUTSIDE);
writeFileSync(join(OUTSIDE, SECRET_FILE), SECRET_CONTENT);
symlinkSync(join(OUTSIDE, SECRET_FILE), join(ROOT, 'escape-link'));
symlinkSync('../outside', join(ROOT, 'escape-dir'));
symlinkSync('readme.txt', join(ROOT, 'inner-link'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

interface NodeTarget extends HalTarget {
  readonly device: NodeDevice;
  readonly workDir: string;
  readonly rebootReasons: string[];
}

async function createTarget(options: CreateOptions & Partial<NodeDeviceOptions> = {}): Promise<NodeTarget> {
  const workDir = await mkdtemp(join(tmpdir(), 'dm-hal-node-work-'));
  const logs: LogRecord[] = [];
  const rebootReasons: string[] = [];
  const deviceOptions: NodeDeviceOptions = {
    workDir,
    board: TEST_BOARD,
    fileRoots: [ROOT],
    onReboot: (reason) => rebootReasons.push(reason),
    log: { level: 'debug', sink: (record) => logs.push(record) },
    exec: { killGraceMs: 300 },
    ...options,
  };
  let device = await createNodeDevice(deviceOptions);
  return {
    get device() {
      return device;
    },
    workDir,
    rebootReasons,
    async reboot() {
      await device.close();
      device = await createNodeDevice(deviceOptions);
      return device;
    },
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    logs: () => logs,
    activity: () => device.activity(),
    signIn: (name, password) => device.signIn(name, password),
    setLocation: (location) => void (device.location = location),
    async dispose() {
      await device.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

const nodeProgram = (script: string) => ({ command: node, args: ['-e', script] });

const fixture: HalFixture = {
  name: 'node',
  capabilities: { powerCut: false, virtualTime: false, symlinks: true },
  programs: {
    exit: (code, output) => nodeProgram(`process.stdout.write(${JSON.stringify(output)}); process.exitCode = ${code}`),
    exitStderr: (code, output) => nodeProgram(`process.stderr.write(${JSON.stringify(output)}); process.exitCode = ${code}`),
    hang: () => nodeProgram('setInterval(() => {}, 1000)'),
    printEnv: (name) => nodeProgram(`process.stdout.write(process.env[${JSON.stringify(name)}] ?? '')`),
    flood: (count, end) => nodeProgram(`process.stdout.write('x'.repeat(${count}) + ${JSON.stringify(end)})`),
    missing: () => ({ command: join(base, 'no-such-command') }),
  },
  files: { root: ROOT, outside: OUTSIDE },
  create: (options) => createTarget(options),
  invalidOptions: invalidNodeOptions(),
};

function invalidNodeOptions(): HalFixture['invalidOptions'] {
  const workDir = join(base, 'never-created');
  const good: NodeDeviceOptions = { workDir, board: TEST_BOARD };
  const partitions = TEST_BOARD.partitions;
  const cases: [string, unknown][] = [
    ['no options', undefined],
    ['no workDir', { board: TEST_BOARD }],
    ['unknown key', { ...good, colour: 'red' }],
    ['writeAlign not dividing blockLength', { ...good, board: { ...TEST_BOARD, flash: { ...TEST_BOARD.flash, writeAlign: 3 } } }],
    ['eraseValue 256', { ...good, board: { ...TEST_BOARD, flash: { ...TEST_BOARD.flash, eraseValue: 256 } } }],
    ['overlapping partitions', { ...good, board: { ...TEST_BOARD, partitions: [...partitions, { name: 'x', offset: 4096, size: 4096 }] } }],
    ['misaligned partition', { ...good, board: { ...TEST_BOARD, partitions: [...partitions, { name: 'x', offset: 1_000_000, size: 100 }] } }],
    ['duplicate partition', { ...good, board: { ...TEST_BOARD, partitions: [...partitions, partitions[0]] } }],
    ['staging with offset', { ...good, board: { ...TEST_BOARD, partitions: [{ name: 's', kind: 'staging', offset: 0, size: 4096 }] } }],
    ['relative file root', { ...good, fileRoots: ['var/log'] }],
    ['log level', { ...good, log: { level: 'loud' } }],
    ['onReboot not a function', { ...good, onReboot: 'exit' }],
    ['bootCountLimit 0', { ...good, bootCountLimit: 0 }],
    ['identity typo', { ...good, identity: { deviceID: 'x' } }],
  ];
  return cases.map(([label, options]) => ({
    label,
    create: async () => {
      try {
        return await createNodeDevice(options as NodeDeviceOptions);
      } finally {
        // "Before touching the disk": the work directory must not exist afterwards.
        if (existsSync(workDir)) throw new Error(`${label}: workDir was created`);
      }
    },
  }));
}

describeHalSuites(fixture);

describe('Node HAL', () => {
  it('keeps the flash in one image file: right size, erased, partitions at their offsets', async () => {
    const target = await createTarget();
    try {
      const path = join(target.workDir, FLASH_IMAGE_FILE);
      const end = Math.max(...TEST_BOARD.partitions.filter((p) => p.offset !== undefined).map((p) => p.offset! + p.size));
      expect((await stat(path)).size).toBe(end);
      const state = await target.device.flash.open({ partition: 'state' });
      await state.write(16, pattern(32, 3));
      const image = new Uint8Array(await readFile(path));
      expect(image.subarray(8192 + 16, 8192 + 48)).toEqual(pattern(32, 3));
      // Everything else not written by the update module's boot-control is still erased.
      expect(image.subarray(8192, 8192 + 16).every((b) => b === 0xff)).toBe(true);
      expect(image.subarray(24576).every((b) => b === 0xff)).toBe(true);
    } finally {
      await target.dispose();
    }
  });

  it('erasing a block that already reads erased writes nothing (a store formatting a blank area); a programmed one is erased', async () => {
    const target = await createTarget();
    try {
      const path = join(target.workDir, FLASH_IMAGE_FILE);
      const state = await target.device.flash.open({ partition: 'state' });
      const past = new Date('2001-01-01T00:00:00Z');
      utimesSync(path, past, past);
      await state.eraseBlock(1);
      expect((await stat(path)).mtime.getTime()).toBe(past.getTime()); // no write reached the file
      await state.write(4096 + 8, pattern(16, 5));
      await state.eraseBlock(1);
      expect(await state.read(4096, 4096)).toEqual(new Uint8Array(4096).fill(0xff));
      expect((await stat(path)).mtime.getTime()).not.toBe(past.getTime());
    } finally {
      await target.dispose();
    }
  });

  it('erasing a blank area reads ahead once for many blocks; a block written since is erased for real (issue 12)', async () => {
    const target = await createTarget();
    try {
      const slot = await target.device.flash.open({ partition: 'slot_a' }); // 16 blocks, blank
      const handle = await open(join(target.workDir, FLASH_IMAGE_FILE), 'r');
      const reads = vi.spyOn(Object.getPrototypeOf(handle) as { read: () => unknown }, 'read');
      await handle.close();
      try {
        for (let block = 0; block < 16; block++) await slot.eraseBlock(block);
        expect(reads.mock.calls.length).toBe(1); // one 64 KiB look-ahead, not one read per block
        // A write after the look-ahead makes that block's erase a real one, on any block of the span.
        await slot.write(5 * 4096 + 16, pattern(16, 9));
        await slot.write(15 * 4096, pattern(8, 2));
        await slot.eraseBlock(5);
        await slot.eraseBlock(15);
        expect(await slot.read(0, 65536)).toEqual(new Uint8Array(65536).fill(0xff));
      } finally {
        reads.mockRestore();
      }
    } finally {
      await target.dispose();
    }
  });

  it('requestReboot persists the boot record before asking to exit; the next start consumes it', async () => {
    const target = await createTarget();
    try {
      await target.device.power.requestReboot({ reason: 'apply 2.0' });
      expect(target.rebootReasons).toEqual(['apply 2.0']);
      const recordPath = join(target.workDir, BOOT_RECORD_FILE);
      expect(JSON.parse(readFileSync(recordPath, 'utf8'))).toMatchObject({ cause: 'requested', reason: 'apply 2.0' });
      const device = await target.reboot();
      expect(existsSync(recordPath)).toBe(false);
      expect(await device.power.lastBoot()).toEqual({ cause: 'requested', reason: 'apply 2.0' });
    } finally {
      await target.dispose();
    }
  });

  it(`the default reboot exits the process with REBOOT_EXIT_CODE (${REBOOT_EXIT_CODE})`, async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'dm-hal-node-exit-'));
    try {
      const script = [
        `import { createNodeDevice } from ${JSON.stringify(join(repoRoot, 'hal/node/index.ts'))};`,
        `const board = ${JSON.stringify(TEST_BOARD)};`,
        `const device = await createNodeDevice({ workDir: ${JSON.stringify(workDir)}, board });`,
        `await device.power.requestReboot({ reason: 'child' });`,
        // Still running after the request: the exit waits for the agent to yield.
        `console.log('after request');`,
      ].join('\n');
      const child = spawn(node, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, output).toBe(REBOOT_EXIT_CODE);
      expect(output).toContain('after request');
      expect(JSON.parse(readFileSync(join(workDir, BOOT_RECORD_FILE), 'utf8'))).toMatchObject({ reason: 'child' });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it('a timeout kills the whole process group, SIGKILL after the grace period', async () => {
    const target = await createTarget();
    try {
      // The child ignores SIGTERM and starts a grandchild that would outlive it.
      const script = [
        "process.on('SIGTERM', () => {});",
        "const g = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
        "process.stdout.write('grandchild ' + g.pid + '\\n');",
        'setInterval(() => {}, 1000);',
      ].join('\n');
      const result = await target.device.exec.run({ command: node, args: ['-e', script], timeoutMs: 1500 });
      expect(result.timedOut).toBe(true);
      expect(result.signal).toBe('SIGKILL');
      expect(result.exitCode).toBeUndefined();
      const pid = Number(/grandchild (\d+)/.exec(result.output)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(await processGone(pid)).toBe(true);
    } finally {
      await target.dispose();
    }
  });

  it('staging files are real files at their location; sync makes them durable', async () => {
    const target = await createTarget();
    try {
      const file = await target.device.staging.open({ name: 'pkg.bin' });
      await file.write(0, utf8Encode('payload'));
      await file.sync();
      expect(file.location).toBe(join(target.workDir, 'staging', 'pkg.bin'));
      expect(readFileSync(file.location, 'utf8')).toBe('payload');
    } finally {
      await target.dispose();
    }
  });

  it('reads power conditions from a power_supply class directory', async () => {
    const supply = join(base, 'power_supply');
    for (const [name, fields] of Object.entries({ AC: { type: 'Mains', online: '0' }, BAT0: { type: 'Battery', capacity: '55', status: 'Discharging' } })) {
      mkdirSync(join(supply, name), { recursive: true });
      for (const [field, value] of Object.entries(fields)) writeFileSync(join(supply, name, field), `${value}\n`);
    }
    const target = await createTarget({ power: { supplyDirectory: supply, conditions: { networkMetered: true } } });
    try {
      expect(await target.device.power.conditions()).toMatchObject({ externalPower: false, batteryPercent: 55, charging: false, networkMetered: true });
      writeFileSync(join(supply, 'BAT0', 'status'), 'Charging\n');
      writeFileSync(join(supply, 'AC', 'online'), '1\n');
      expect(await target.device.power.conditions()).toMatchObject({ externalPower: true, charging: true });
    } finally {
      await target.dispose();
    }
  });

  it('uses an idle-time source from the options', async () => {
    const target = await createTarget({ power: { idleMs: () => 123_456 } });
    try {
      expect(target.device.power.idleMs()).toBe(123_456);
    } finally {
      await target.dispose();
    }
  });

  it('inventory reports the work directory file system', async () => {
    const target = await createTarget();
    try {
      const inventory = await target.device.system.inventory();
      const work = inventory.storage.find((s) => s.name === 'workDir');
      expect(work?.freeBytes).toBeGreaterThan(0);
      expect(inventory.cpuCount).toBeGreaterThanOrEqual(1);
      expect(inventory.kernelVersion).toBeTruthy();
    } finally {
      await target.dispose();
    }
  });

  it('wasm host loads modules from the wasm directory; the package root is found', async () => {
    const wasmDirectory = join(base, 'wasm');
    mkdirSync(wasmDirectory, { recursive: true });
    // (module (func (export "answer") (result i32) i32.const 42))
    const module = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0a, 0x01,
      0x06, 0x61, 0x6e, 0x73, 0x77, 0x65, 0x72, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b,
    ]);
    writeFileSync(join(wasmDirectory, 'answer.wasm'), module);
    const target = await createTarget({ wasmDirectory });
    try {
      const wasm = target.device.wasm!;
      const exports = await wasm.instantiate(await wasm.moduleBytes('answer'), {});
      expect((exports.answer as () => number)()).toBe(42);
      await expectFailure(() => wasm.moduleBytes('missing'), NotFoundError);
      await expectFailure(() => wasm.moduleBytes('../answer'), InvalidOptionsError);
      expect(findPackageRoot()).toBe(repoRoot);
      expect(findPackageRoot(tmpdir())).toBeUndefined();
    } finally {
      await target.dispose();
    }
  });

  it('writes JSON lines to stderr by default, filtered by level', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'dm-hal-node-log-'));
    const script = [
      `import { createNodeDevice } from ${JSON.stringify(join(repoRoot, 'hal/node/index.ts'))};`,
      `const device = await createNodeDevice({ workDir: ${JSON.stringify(workDir)}, board: ${JSON.stringify(TEST_BOARD)}, log: { level: 'warn' } });`,
      `for (const level of ['debug', 'info', 'warn', 'error']) device.log.write({ level, message: level, utcMs: 1 });`,
      'await device.close();',
    ].join('\n');
    try {
      const child = spawn(node, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, stderr).toBe(0);
      const lines = stderr.trim().split('\n').map((line) => JSON.parse(line) as LogRecord);
      expect(lines.map((r) => r.level)).toEqual(['warn', 'error']);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});

/** True once `pid` no longer exists or is a zombie (its parent was killed). Polls up to 3 s. */
async function processGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    let state: string | undefined;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    } catch {
      return true;
    }
    if (state === 'Z' || state === 'X') return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
