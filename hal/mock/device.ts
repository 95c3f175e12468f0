/**
 * Builds one boot's `Device` from the mock hardware's persistent parts. Every facet is guarded
 * by the boot's lifecycle (closed device → `ClosedError`) and by the power switch (power cut →
 * `PowerCutError`), so code of a dead boot can neither act nor corrupt the next boot's state.
 */
import type { Device, DeviceIdentity, Flash, LogRecord, MachineInventory, NetworkInfo, WasmHost, DigestHost, SignatureHost } from '../types.ts';
import { type BootOutcome, startAbUpdate } from '../shared/ab-update.ts';
import { Lifecycle, guardFacet } from '../shared/lifecycle.ts';
import { guardDigest } from '../shared/digest.ts';
import { guardSignatures } from '../shared/signatures.ts';
import { validateLogRecord } from '../shared/log-record.ts';
import type { VirtualClock } from './clock.ts';
import type { MockExecScript } from './exec.ts';
import type { MockFileTree } from './files.ts';
import { type MockFlashMemory, createMockFlash } from './flash.ts';
import type { MockNet } from './net.ts';
import type { MockPowerState } from './power.ts';
import type { UserState } from '../shared/users.ts';
import type { PowerCut } from './power-cut.ts';
import type { SeededRandom } from './random.ts';
import type { MockStagingStore } from './staging.ts';
import { createMockSystem } from './system.ts';
import { createKeystore, type SecretSlot } from '../shared/keystore.ts';

export interface MockDeviceParts {
  power: PowerCut;
  memory: MockFlashMemory;
  clock: VirtualClock;
  staging: MockStagingStore;
  powerState: MockPowerState;
  exec: MockExecScript;
  files: MockFileTree;
  random: SeededRandom;
  logs: LogRecord[];
  identity: DeviceIdentity;
  inventory: MachineInventory;
  net: MockNet;
  bootCountLimit: number | undefined;
  wasm: WasmHost | undefined;
  digest: DigestHost | undefined;
  signatures: SignatureHost | undefined;
  users: UserState;
  /** Where the device is now (the hardware's scripted `location`). */
  location: () => NetworkInfo['location'];
}

export interface MockBoot {
  device: Device;
  /** Closes the device now (the hardware is booting again). */
  shutdown(): void;
  booted: Promise<BootOutcome>;
}

/** The mock's key slot lives with its flash cells: it survives reboots of the same hardware. */
const keySlots = new WeakMap<MockFlashMemory, { secret?: Uint8Array }>();

function memorySlot(memory: MockFlashMemory, power: PowerCut): SecretSlot {
  if (!keySlots.has(memory)) keySlots.set(memory, {});
  const slot = keySlots.get(memory)!;
  return {
    load: async () => {
      power.check('keystore.load');
      return slot.secret?.slice();
    },
    create: async (secret) => {
      if (power.tick('keystore.create')) power.fail('keystore.create');
      if (slot.secret) throw new Error('keystore: a device key exists already');
      slot.secret = secret.slice();
    },
  };
}

export function assembleMockDevice(parts: MockDeviceParts): MockBoot {
  const { power } = parts;
  const lifecycle = new Lifecycle((what) => power.check(what));
  const timers = parts.clock.scope(() => power.isCut);
  const rawFlash = createMockFlash(parts.memory, power);
  const ab = lifecycle.track(startAbUpdate({ flash: rawFlash, bootCountLimit: parts.bootCountLimit }));
  lifecycle.track(parts.net);

  const flash: Flash = {
    partitions: () => rawFlash.partitions(),
    async open(options) {
      const partition = await rawFlash.open(options);
      // Close with the device; forget it when the caller closes it first.
      const close = partition.close.bind(partition);
      partition.close = () => {
        lifecycle.untrack(partition);
        close();
      };
      return lifecycle.track(partition);
    },
  };
  const system = createMockSystem({
    identity: parts.identity,
    inventory: parts.inventory,
    activeVersion: () => ab.activeVersion(),
    stagingFree: () => Math.max(0, parts.staging.capacity - parts.staging.used()),
  });
  const log = {
    write(record: LogRecord): void {
      validateLogRecord(record);
      parts.logs.push({ ...record, ...(record.fields ? { fields: { ...record.fields } } : {}) });
    },
  };

  const close = async (): Promise<void> => {
    timers.dispose();
    await lifecycle.close();
  };
  const device: Device = {
    platform: 'mock',
    clock: guardFacet(timers.clock, lifecycle, 'clock', ['monotonicMs', 'utcMs', 'setTimer', 'clearTimer']),
    flash: guardFacet(flash, lifecycle, 'flash', ['partitions']),
    staging: guardFacet(parts.staging.facet(lifecycle), lifecycle, 'staging'),
    net: {
      http: guardFacet(parts.net.http, lifecycle, 'net.http'),
      dns: guardFacet(parts.net.dns, lifecycle, 'net.dns'),
      mqtt: guardFacet(parts.net.mqtt, lifecycle, 'net.mqtt'),
      ...(parts.net.udp ? { udp: guardFacet(parts.net.udp, lifecycle, 'net.udp') } : {}),
      info: async () => {
        power.check('net.info');
        const dhcpDomain = await parts.net.dns.domain();
        return { location: parts.location(), ...(dhcpDomain !== undefined ? { dhcpDomain } : {}) };
      },
    },
    update: guardFacet(ab.update, lifecycle, 'update'),
    power: guardFacet(parts.powerState.facet(), lifecycle, 'power', ['idleMs', 'onActivity']),
    system: guardFacet(system, lifecycle, 'system'),
    users: guardFacet(parts.users.facet(), lifecycle, 'users', ['onSignIn']),
    exec: guardFacet(parts.exec.facet(timers.clock), lifecycle, 'exec'),
    files: guardFacet(parts.files.facet(), lifecycle, 'files', ['roots']),
    log: guardFacet(log, lifecycle, 'log', ['write']),
    random: guardFacet(parts.random.facet(), lifecycle, 'random', ['bytes']),
    keystore: guardFacet(createKeystore(memorySlot(parts.memory, power), parts.random.facet()), lifecycle, 'keystore'),
    close,
  };
  if (parts.wasm) device.wasm = guardFacet(parts.wasm, lifecycle, 'wasm');
  if (parts.digest) device.digest = guardDigest(parts.digest, lifecycle);
  if (parts.signatures) device.signatures = guardSignatures(parts.signatures, lifecycle);
  return { device, shutdown: () => void close(), booted: ab.booted };
}
