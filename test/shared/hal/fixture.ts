/**
 * What a shared HAL suite needs from an implementation under test. Each runner
 * (test/hal-mock.test.ts, test/hal-node.test.ts, later the QuickJS bridge) builds one fixture;
 * the suites in this folder are written once against it. Abilities only some implementations
 * have (power cuts, virtual time, symlinks) are capability flags that turn on extra tests —
 * a suite is never skipped as a whole.
 *
 * Portable test code: no node:* imports here or in the suites.
 */
import type { Device, DeviceIdentity, ExecOptions, LogRecord } from '../../../hal/types.ts';

/** The board every implementation is tested with (same geometry for mock and node). */
export const TEST_BOARD = {
  flash: { blockLength: 4096, writeAlign: 8, eraseValue: 0xff },
  partitions: [
    { name: 'bootctl', offset: 0, size: 8192 },
    { name: 'state', offset: 8192, size: 16384 },
    { name: 'slot_a', offset: 24576, size: 65536 },
    { name: 'slot_b', offset: 90112, size: 65536 },
    { name: 'packages', size: 256 * 1024, kind: 'staging' as const },
  ],
};
export const STAGING_CAPACITY = 256 * 1024;

/** Files the fixture must provide below `files.root` (and one secret outside every root). */
export const FILE_TREE: Record<string, string> = {
  'readme.txt': 'hello files\n',
  'logs/app.log': 'line 1\nline 2\nline 3\n',
  'logs/empty.log': '',
  'logs/old/2024.log': 'archived\n',
};
export const SECRET_FILE = 'secret.txt';
export const SECRET_CONTENT = 'top secret\n';

export type Program = Pick<ExecOptions, 'command' | 'args'>;

/** Commands with a known behaviour: real processes on Node, scripted handlers on the mock. */
export interface ExecPrograms {
  /** Writes `output` to stdout and exits with `code`. */
  exit(code: number, output: string): Program;
  /** Writes `output` to stderr and exits with `code`. */
  exitStderr(code: number, output: string): Program;
  /** Never ends on its own. */
  hang(): Program;
  /** Prints the value of environment variable `name`. */
  printEnv(name: string): Program;
  /** Prints `count` 'x' characters, then `end`. */
  flood(count: number, end: string): Program;
  /** A command that does not exist. */
  missing(): Program;
}

export interface CreateOptions {
  bootCountLimit?: number;
  identity?: Partial<DeviceIdentity>;
}

export interface PowerControl {
  /** The n-th mutating operation from now is interrupted. */
  cutAfter(n: number): void;
  cancel(): void;
  readonly operations: number;
  readonly isCut: boolean;
  /** Power comes back: the device boots again (unsynced data may be lost). */
  powerCycle(): Promise<Device>;
}

export interface HalTarget {
  /** The running device (replaced by reboot/powerCycle). */
  readonly device: Device;
  /** A clean reboot: what happens after `requestReboot` (the Node HAL: process restart). */
  reboot(): Promise<Device>;
  /** Lets `ms` of device time pass (virtual time advances; real hardware waits). */
  elapse(ms: number): Promise<void>;
  /** Log records the device wrote (all levels). */
  logs(): readonly LogRecord[];
  /** Simulated user activity. */
  activity(): void;
  /** A user signs in on the device (the host's UI). */
  signIn(name: string, password: string): void;
  /** Inside or outside the corporate firewall, as `net.info()` should report it. */
  setLocation(location: 'inside' | 'outside'): void;
  /** Present when `capabilities.powerCut`. */
  power?: PowerControl;
  dispose(): Promise<void>;
}

export interface HalFixture {
  name: string;
  capabilities: {
    /** Power can be cut at any mutating operation (`target.power`). */
    powerCut: boolean;
    /** Time passes only through `elapse` (deterministic timer tests). */
    virtualTime: boolean;
    /** The file tree contains symlinks: `escape-link` (→ outside/secret), `escape-dir` (→ outside), `inner-link` (→ readme.txt). */
    symlinks: boolean;
  };
  programs: ExecPrograms;
  /** Absolute path of the files root (holds FILE_TREE) and of a directory outside it (holds SECRET_FILE). */
  files: { root: string; outside: string };
  create(options?: CreateOptions): Promise<HalTarget>;
  /** Constructions with bad options: each must fail with `InvalidOptionsError` and touch nothing. */
  invalidOptions: { label: string; create: () => unknown }[];
}
