/**
 * Identity and inventory of the mock device: fixed defaults, overridable per test. The firmware
 * version follows the A/B slot the device runs (after an update it reports the new image), as on
 * real hardware; the option is the factory image's version.
 */
import { InvalidOptionsError } from '../errors.ts';
import type { DeviceIdentity, MachineInventory, System } from '../types.ts';
import { optionalStringFields, requireObject } from '../shared/validate.ts';

export const IDENTITY_KEYS = ['deviceId', 'model', 'oem', 'hardwareId', 'firmwareVersion', 'locale'] as const;

export const DEFAULT_IDENTITY: DeviceIdentity = {
  deviceId: 'mock-device-0001',
  model: 'dm-mock',
  oem: 'dm-agent',
  hardwareId: 'mock-hw-rev1',
  firmwareVersion: '1.0.0',
  locale: 'en-US',
};

export function validateIdentity(value: unknown): DeviceIdentity {
  return { ...DEFAULT_IDENTITY, ...optionalStringFields(value, IDENTITY_KEYS, 'MockHardware: identity') };
}

/** Checks the shape of an inventory override (a wrong type here would only fail much later). */
export function validateInventory(value: unknown, defaults: MachineInventory): MachineInventory {
  if (value === undefined) return defaults;
  const o = requireObject(value, 'MockHardware: inventory');
  const merged = { ...defaults, ...o } as MachineInventory;
  const fail = (field: string): never => {
    throw new InvalidOptionsError(`MockHardware: inventory.${field} has the wrong type`);
  };
  if (typeof merged.architecture !== 'string') fail('architecture');
  if (typeof merged.operatingSystem !== 'string') fail('operatingSystem');
  if (merged.kernelVersion !== undefined && typeof merged.kernelVersion !== 'string') fail('kernelVersion');
  if (merged.cpuModel !== undefined && typeof merged.cpuModel !== 'string') fail('cpuModel');
  if (!Number.isInteger(merged.cpuCount) || merged.cpuCount < 1) fail('cpuCount');
  if (!Number.isInteger(merged.memoryBytes) || merged.memoryBytes < 0) fail('memoryBytes');
  if (!Array.isArray(merged.storage)) fail('storage');
  if (!Array.isArray(merged.network)) fail('network');
  for (const key of Object.keys(o)) if (!Object.prototype.hasOwnProperty.call(defaults, key) && key !== 'kernelVersion' && key !== 'cpuModel') fail(key);
  return merged;
}

export function defaultInventory(flashBytes: number, stagingBytes: number): MachineInventory {
  return {
    architecture: 'mock',
    operatingSystem: 'dm-mock-os',
    kernelVersion: '1.0',
    cpuModel: 'virtual cpu',
    cpuCount: 1,
    memoryBytes: 64 * 1024 * 1024,
    storage: [
      { name: 'flash', sizeBytes: flashBytes },
      { name: 'staging', sizeBytes: stagingBytes },
    ],
    network: [{ name: 'eth0', mac: '02:00:00:00:00:01', addresses: ['192.0.2.10'] }],
  };
}

export function createMockSystem(options: {
  identity: DeviceIdentity;
  inventory: MachineInventory;
  activeVersion: () => Promise<string | undefined>;
  stagingFree: () => number;
}): System {
  return {
    async identity() {
      const running = await options.activeVersion();
      return { ...options.identity, firmwareVersion: running ?? options.identity.firmwareVersion };
    },
    async inventory() {
      const inventory = structuredCopy(options.inventory);
      const staging = inventory.storage.find((s) => s.name === 'staging');
      if (staging && staging.freeBytes === undefined) staging.freeBytes = options.stagingFree();
      return inventory;
    },
  };
}

/**
 * A deep copy of plain data with the JSON round trip's result (QuickJS has no structuredClone):
 * undefined members dropped, undefined array items null. Without the round trip: every report
 * asks for the inventory, and a fleet of mock devices asks thousands of times.
 */
function structuredCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => (item === undefined ? null : structuredCopy(item))) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = structuredCopy(inner);
  return out as T;
}
