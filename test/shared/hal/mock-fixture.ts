/**
 * The mock HAL's fixture for the shared HAL suites (test/hal-mock.test.ts; the QuickJS bridge
 * suite runs the same fixture through the bridge). Portable: no node:* imports.
 */
import { MockHardware, type MockHardwareOptions, mockOptionsFromBoard } from '../../../hal/mock/index.ts';
import { FILE_TREE, type HalFixture, type HalTarget, SECRET_CONTENT, SECRET_FILE, TEST_BOARD } from './fixture.ts';

const ROOT = '/srv/data';
const OUTSIDE = '/srv/outside';

export const fromBoard = mockOptionsFromBoard(TEST_BOARD);
export const mockLayout = fromBoard.flash;

export function hardwareOptions(extra: Partial<MockHardwareOptions> = {}): MockHardwareOptions {
  const files: Record<string, string> = { [`${OUTSIDE}/${SECRET_FILE}`]: SECRET_CONTENT };
  for (const [path, content] of Object.entries(FILE_TREE)) files[`${ROOT}/${path}`] = content;
  return { ...fromBoard, files, roots: [ROOT], ...extra };
}

function scriptExec(hw: MockHardware): void {
  hw.onExec('test-exit', ({ args }) => ({ exitCode: Number(args[0]), output: args[1] ?? '' }));
  hw.onExec('test-hang', () => new Promise(() => {}));
  hw.onExec('test-env', ({ args, env }) => ({ exitCode: 0, output: env?.[args[0] ?? ''] ?? '' }));
  hw.onExec('test-flood', ({ args }) => ({ exitCode: 0, output: 'x'.repeat(Number(args[0])) + (args[1] ?? '') }));
}

function target(hw: MockHardware): HalTarget {
  let device = hw.boot();
  return {
    get device() {
      return device;
    },
    async reboot() {
      device = hw.reboot();
      return device;
    },
    elapse: (ms) => hw.clock.advance(ms),
    logs: () => hw.logs,
    activity: () => hw.activity(),
    signIn: (name, password) => hw.signIn(name, password),
    setLocation: (location) => void (hw.location = location),
    power: {
      cutAfter: (n) => hw.power.cutAfter(n),
      cancel: () => hw.power.cancel(),
      get operations() {
        return hw.power.operations;
      },
      get isCut() {
        return hw.power.isCut;
      },
      // Also when the power is still on: pulling the plug loses unsynced data too.
      async powerCycle() {
        device = hw.reboot();
        return device;
      },
    },
    dispose: () => device.close() as Promise<void>,
  };
}

export const mockFixture: HalFixture = {
  name: 'mock',
  capabilities: { powerCut: true, virtualTime: true, symlinks: false },
  programs: {
    exit: (code, output) => ({ command: 'test-exit', args: [String(code), output] }),
    exitStderr: (code, output) => ({ command: 'test-exit', args: [String(code), output] }),
    hang: () => ({ command: 'test-hang' }),
    printEnv: (name) => ({ command: 'test-env', args: [name] }),
    flood: (count, end) => ({ command: 'test-flood', args: [String(count), end] }),
    missing: () => ({ command: 'no-such-command' }),
  },
  files: { root: ROOT, outside: OUTSIDE },
  async create(options = {}) {
    const hw = new MockHardware(hardwareOptions(options));
    scriptExec(hw);
    return target(hw);
  },
  invalidOptions: [
    { label: 'no options', create: () => new MockHardware(undefined as unknown as MockHardwareOptions) },
    { label: 'unknown key', create: () => new MockHardware({ ...hardwareOptions(), colour: 'red' } as MockHardwareOptions) },
    { label: 'bad flash', create: () => new MockHardware({ flash: { ...mockLayout, writeAlign: 3 } }) },
    { label: 'identity not a string', create: () => new MockHardware({ ...hardwareOptions(), identity: { deviceId: 5 as unknown as string } }) },
    { label: 'bootCountLimit 0', create: () => new MockHardware({ ...hardwareOptions(), bootCountLimit: 0 }) },
    { label: 'relative root', create: () => new MockHardware({ ...hardwareOptions(), roots: ['data'] }) },
    { label: 'negative capacity', create: () => new MockHardware({ ...hardwareOptions(), stagingCapacity: -1 }) },
    { label: 'battery 150 %', create: () => new MockHardware({ ...hardwareOptions(), conditions: { batteryPercent: 150 } }) },
    { label: 'inventory cpuCount', create: () => new MockHardware({ ...hardwareOptions(), inventory: { cpuCount: 0 } }) },
  ],
};

