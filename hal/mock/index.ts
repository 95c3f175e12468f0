/**
 * The mock HAL, like MCUboot's simulator: `MockHardware` is the persistent hardware (flash cells,
 * staging files, virtual time, the power switch, scripted exec, captured logs) and `boot()`
 * hands out a fresh `Device` over it, as a real board does on every power-up. Tests cut power at
 * any mutating operation, `reboot()`, and check what the agent finds.
 *
 * Portable (also runs inside QuickJS): no `node:*` imports. A WebAssembly host, which needs the
 * host's file system, is injected through the `wasm` option instead.
 */
import { InvalidOptionsError, PowerCutError } from '../errors.ts';
import type { Device, DeviceIdentity, LogRecord, MachineInventory, NetworkInfo, PowerConditions, WasmHost, DigestHost, SignatureHost } from '../types.ts';
import { isDigestHost } from '../shared/digest.ts';
import { isSignatureHost } from '../shared/signatures.ts';
import { type BootOutcome, validateBootCountLimit } from '../shared/ab-update.ts';
import { optionalInteger, optionalString, rejectUnknownKeys, requireObject } from '../shared/validate.ts';
import { VirtualClock } from './clock.ts';
import { type ExecHandler, type ExecLogEntry, MockExecScript } from './exec.ts';
import { MockFileTree } from './files.ts';
import { type MockFlashLayout, MockFlashMemory } from './flash.ts';
import { type MockNetwork, createMockNetwork } from './net.ts';
import { type LastBoot, MockPowerState, type RebootRequest } from './power.ts';
import { validateConditions } from '../shared/conditions.ts';
import { PowerCut } from './power-cut.ts';
import { SeededRandom } from './random.ts';
import { MockStagingStore, validateStagingCapacity } from './staging.ts';
import { defaultInventory, validateIdentity, validateInventory } from './system.ts';
import { assembleMockDevice } from './device.ts';
import { UserState } from '../shared/users.ts';

export { VirtualClock } from './clock.ts';
export type { ExecHandler, ExecHandlerResult, ExecLogEntry } from './exec.ts';
export type { MockFlashLayout } from './flash.ts';
export { MockFlashMemory } from './flash.ts';
export { PowerCut } from './power-cut.ts';
export type { LastBoot, RebootRequest } from './power.ts';

export interface MockHardwareOptions {
  flash: MockFlashLayout;
  identity?: Partial<DeviceIdentity>;
  inventory?: Partial<MachineInventory>;
  /** Wall-clock time at virtual time 0 (default 2025-01-01T00:00:00Z). Ignored with `clock`. */
  startUtcMs?: number;
  /** Share one virtual timeline between several devices (and their network). */
  clock?: VirtualClock;
  /** Shared with servers and other devices; default a new one on this hardware's clock. */
  network?: MockNetwork;
  /** Name this device attaches to the network under (fault rules match it); default the device id. */
  networkName?: string;
  /** Virtual file tree for the `files` facet: absolute path → content. */
  files?: Record<string, string | Uint8Array>;
  /** Readable roots of the file tree (default none). */
  roots?: string[];
  /** Staging capacity in bytes (default 64 MiB). */
  stagingCapacity?: number;
  /** Unconfirmed trial boots before the bootloader rolls back (default 3). */
  bootCountLimit?: number;
  conditions?: Partial<PowerConditions>;
  /** Seed of the deterministic `random` facet (default 1). */
  seed?: number;
  wasm?: WasmHost;
  /** A native digest engine to offer as `device.digest` (tests inject one; a mock has none of its own). */
  digest?: DigestHost;
  /** A native signature verifier to offer as `device.signatures` (without one the agent verifies in JS). */
  signatures?: SignatureHost;
}

const OPTION_KEYS = [
  'flash', 'identity', 'inventory', 'startUtcMs', 'clock', 'network', 'networkName', 'files', 'roots',
  'stagingCapacity', 'bootCountLimit', 'conditions', 'seed', 'wasm', 'digest', 'signatures',
] as const;

export class MockHardware {
  readonly power = new PowerCut();
  readonly flashMemory: MockFlashMemory;
  readonly clock: VirtualClock;
  readonly network: MockNetwork;
  readonly staging: MockStagingStore;
  readonly files: MockFileTree;
  /** Every record any boot logged, in order. */
  readonly logs: LogRecord[] = [];
  readonly identity: DeviceIdentity;
  readonly inventory: MachineInventory;
  readonly bootCountLimit: number | undefined;
  /** Inside or outside the corporate firewall, as `net.info()` reports it; mutate freely. */
  location: NetworkInfo['location'] = 'inside';
  /** Boots so far (1 after the first `boot()`). */
  boots = 0;
  readonly #powerState: MockPowerState;
  readonly #users = new UserState();
  readonly #exec: MockExecScript;
  readonly #random: SeededRandom;
  readonly #networkName: string;
  readonly #wasm: WasmHost | undefined;
  readonly #digest: DigestHost | undefined;
  readonly #signatures: SignatureHost | undefined;
  #current: { device: Device; shutdown(): void; booted: Promise<BootOutcome> } | undefined;

  constructor(options: MockHardwareOptions) {
    const o = requireObject(options, 'MockHardware');
    rejectUnknownKeys(o, OPTION_KEYS, 'MockHardware');
    // Validate everything before building anything (the contract's rule for options objects).
    const flashLayout = requireObject(o.flash, 'MockHardware: flash') as unknown as MockFlashLayout;
    if (!Array.isArray(flashLayout.partitions) || flashLayout.partitions.some((p) => typeof p !== 'object' || p === null))
      throw invalid('flash.partitions must be an array of { name, size }');
    if (o.clock !== undefined && !(o.clock instanceof VirtualClock)) throw invalid('clock must be a VirtualClock');
    const startUtcMs = optionalInteger(o.startUtcMs, 'MockHardware: startUtcMs', 0);
    const stagingCapacity = validateStagingCapacity(o.stagingCapacity);
    this.bootCountLimit = validateBootCountLimit(o.bootCountLimit, 'MockHardware: bootCountLimit');
    const conditions = validateConditions(o.conditions, 'MockHardware: conditions');
    const seed = optionalInteger(o.seed, 'MockHardware: seed', 0, 0xffffffff) ?? 1;
    this.identity = validateIdentity(o.identity);
    this.#networkName = optionalString(o.networkName, 'MockHardware: networkName') ?? this.identity.deviceId;
    if (o.network !== undefined && (typeof o.network !== 'object' || typeof (o.network as MockNetwork).attach !== 'function'))
      throw invalid('network must be a MockNetwork');
    if (o.wasm !== undefined && (typeof o.wasm !== 'object' || typeof (o.wasm as WasmHost).instantiate !== 'function'))
      throw invalid('wasm must be a WasmHost');
    if (o.digest !== undefined && !isDigestHost(o.digest)) throw invalid('digest must be a DigestHost');
    if (o.signatures !== undefined && !isSignatureHost(o.signatures)) throw invalid('signatures must be a SignatureHost');
    this.flashMemory = new MockFlashMemory(flashLayout);
    this.clock = (o.clock as VirtualClock | undefined) ?? new VirtualClock(startUtcMs);
    this.files = new MockFileTree(o.files, o.roots, this.clock.startUtcMs);
    const flashBytes = flashLayout.partitions.reduce((sum, p) => sum + p.size, 0);
    this.inventory = validateInventory(o.inventory, defaultInventory(flashBytes, stagingCapacity));

    this.network = (o.network as MockNetwork | undefined) ?? createMockNetwork({ clock: this.clock.scope().clock });
    this.staging = new MockStagingStore(this.power, stagingCapacity);
    this.#powerState = new MockPowerState(this.clock, conditions);
    this.#exec = new MockExecScript(this.clock);
    this.#random = new SeededRandom(seed);
    this.#wasm = o.wasm as WasmHost | undefined;
    this.#digest = o.digest as DigestHost | undefined;
    this.#signatures = o.signatures as SignatureHost | undefined;
  }

  get now(): number {
    return this.clock.now;
  }

  get utcOffsetMs(): number {
    return this.clock.utcOffsetMs;
  }

  set utcOffsetMs(value: number) {
    this.clock.utcOffsetMs = value;
  }

  /** Power and network conditions the device reports; mutate freely. */
  get conditions(): PowerConditions {
    return this.#powerState.conditions;
  }

  set conditions(value: PowerConditions) {
    this.#powerState.conditions = { ...value };
  }

  /** Simulated user input: resets the idle time and notifies the running boot's listeners. */
  activity(): void {
    this.#powerState.activity();
  }

  /** A user signs in on the device: `users.current()` returns them and sign-in listeners hear it. */
  signIn(name: string, password: string): void {
    this.#users.signIn(name, password);
  }

  signOut(): void {
    this.#users.signOut();
  }

  /** Scripts a command; a later call for the same command replaces the handler. */
  onExec(command: string, handler: ExecHandler): void {
    if (typeof command !== 'string' || command.length === 0) throw invalid('onExec: command must be a non-empty string');
    if (typeof handler !== 'function') throw invalid('onExec: handler must be a function');
    this.#exec.handlers.set(command, handler);
  }

  /** Every exec run so far, with its result once finished. */
  get execLog(): readonly ExecLogEntry[] {
    return this.#exec.log;
  }

  get rebootRequests(): readonly RebootRequest[] {
    return this.#powerState.rebootRequests;
  }

  /** Why the current boot happened. */
  get lastBoot(): LastBoot {
    return { ...this.#powerState.lastBoot };
  }

  /** The running device, if booted. */
  get device(): Device | undefined {
    return this.#current?.device;
  }

  /** Settles once the current boot's bootloader step ran (rejects if power was cut during it). */
  get booted(): Promise<BootOutcome> {
    if (!this.#current) return Promise.reject(new Error('MockHardware: not booted'));
    return this.#current.booted;
  }

  /**
   * Starts a fresh `Device` over the persistent state; the previous one is closed and its timers
   * dropped. The bootloader step (A/B trial and rollback) runs as part of it, asynchronously:
   * `update` calls wait for it, or await `booted`.
   */
  boot(): Device {
    if (this.power.isCut) throw new PowerCutError('boot (power is off: call reboot())');
    this.#current?.shutdown();
    this.#powerState.resetListeners();
    this.#users.resetListeners();
    this.#powerState.requestedThisBoot = undefined;
    this.boots++;
    this.#current = assembleMockDevice({
      power: this.power,
      memory: this.flashMemory,
      clock: this.clock,
      staging: this.staging,
      powerState: this.#powerState,
      exec: this.#exec,
      files: this.files,
      random: this.#random,
      logs: this.logs,
      identity: this.identity,
      inventory: this.inventory,
      net: this.network.attach({ name: this.#networkName }),
      bootCountLimit: this.bootCountLimit,
      wasm: this.#wasm,
      digest: this.#digest,
      signatures: this.#signatures,
      users: this.#users,
      location: () => this.location,
    });
    return this.#current.device;
  }

  /**
   * Power comes back (or a requested reboot happens) and the device boots again. The cause is
   * `requested` when the running boot asked for it and power was not cut, else `powerOn`; only a
   * clean, requested reboot flushes unsynced staging data.
   */
  reboot(): Device {
    const wasCut = this.power.isCut;
    const request = this.#powerState.requestedThisBoot;
    this.power.restore();
    if (!wasCut && request) {
      this.staging.flushAll();
      this.#powerState.lastBoot = { cause: 'requested', reason: request.reason };
    } else {
      this.staging.powerLoss();
      this.#powerState.lastBoot = { cause: 'powerOn' };
    }
    return this.boot();
  }
}

/**
 * Mock options from a board profile (boards/*.json): raw partitions become flash partitions, a
 * `kind: "staging"` partition becomes the staging capacity. Spread the result into the options.
 */
export function mockOptionsFromBoard(board: {
  flash: { blockLength: number; writeAlign: number; eraseValue?: number };
  partitions: { name: string; size: number; kind?: string }[];
}): Pick<MockHardwareOptions, 'flash' | 'stagingCapacity'> {
  const o = requireObject(board, 'mockOptionsFromBoard');
  const flash = requireObject(o.flash, 'mockOptionsFromBoard: flash') as typeof board.flash;
  if (!Array.isArray(o.partitions)) throw invalid('board.partitions must be an array');
  const staging = board.partitions.find((p) => p.kind === 'staging');
  const options: Pick<MockHardwareOptions, 'flash' | 'stagingCapacity'> = {
    flash: { ...flash, partitions: board.partitions.filter((p) => p.kind !== 'staging').map(({ name, size }) => ({ name, size })) },
  };
  if (staging) options.stagingCapacity = staging.size;
  return options;
}

function invalid(message: string): InvalidOptionsError {
  return new InvalidOptionsError(`MockHardware: ${message}`);
}
