/**
 * The reference manager mounted in-process on the mock HAL's network, and mock devices whose
 * post-install command is scripted: it checks the staged artifact against the expected digest
 * (so "installed" means "the command got the right bytes") and records every run.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, type DeliveryEvent, createAgent } from '../../agent/index.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork, type MockNetwork } from '../../hal/mock/net.ts';
import { type Manager, createManager, loadFleet } from '../../server/index.ts';
import type { Fleet } from '../../server/fleet.ts';
import { artifactBytes, writeDemoFleet, type DemoPackage } from '../../cli/demo/fixture.ts';
import { sim } from './harness.ts';
import type { DeltaMaker } from '../../server/deltas.ts';
import type { Device } from '../../hal/types.ts';
import { toHex } from '../../agent/util/bytes.ts';

export const MANAGER = 'https://manager.test';

export interface InstallRun {
  job: string;
  name: string;
  version: string;
  artifactOk: boolean;
}

export interface MockWorld {
  dir: string;
  network: MockNetwork;
  manager: Manager;
  fleet: Fleet;
  /** Every scripted post-install/uninstall run, across reboots. */
  runs: { install: InstallRun[]; uninstall: { job: string; name: string }[] };
  /** What the scripted commands left installed on the "device" (survives reboots, like a filesystem). */
  installedOnDisk: Map<string, string>;
  /** `options`: e.g. `startUtcMs` (signed-metadata tests run the device clock at real time). */
  hardware(deviceId: string, options?: { startUtcMs?: number }): MockHardware;
  agent(hardware: MockHardware, config?: Record<string, unknown>, events?: DeliveryEvent[]): Promise<Agent>;
  cleanup(): Promise<void>;
}

export async function mockWorld(options: { deviceIds: string[]; assignment?: { name: string; version: string; optional?: boolean }[]; catalogue?: DemoPackage[]; mutate?: (fleet: Record<string, any>) => void; board?: typeof sim; deltas?: DeltaMaker; deviceAuth?: 'required' | 'off' }): Promise<MockWorld> {
  const board = options.board ?? sim;
  const dir = await mkdtemp(join(tmpdir(), 'dm-mock-'));
  const json = await writeDemoFleet(join(dir, 'manager'), '/device-root', options.deviceIds, options.assignment, options.catalogue);
  options.mutate?.(json);
  const fleet = await loadFleet(json, join(dir, 'manager'));
  const network = createMockNetwork();
  const manager = createManager({ fleet, address: MANAGER, ...(options.deltas ? { deltas: options.deltas } : {}), ...(options.deviceAuth ? { deviceAuth: options.deviceAuth } : {}) });
  network.route(MANAGER, manager.handle);
  const digests = new Map<string, string>();
  for (const [name, versions] of fleet.catalogue) for (const [version, entry] of versions) digests.set(`${name}@${version}`, entry.digest);
  const runs: MockWorld['runs'] = { install: [], uninstall: [] };
  const installedOnDisk = new Map<string, string>();
  // Each simulated board its own random seed, as real devices have their own entropy: two boards of
  // one world must not send the same authentication nonces.
  let seeds = 0;

  return {
    dir,
    network,
    manager,
    fleet,
    runs,
    installedOnDisk,
    hardware(deviceId, extra = {}) {
      const hardware = new MockHardware({ ...mockOptionsFromBoard(board), identity: { deviceId, model: 'mock' }, network, seed: 1 + seeds++, ...extra });
      hardware.onExec('/bin/sh', async (exec) => {
        const env = exec.env ?? {};
        const name = env.DM_PACKAGE as string;
        const version = env.DM_VERSION as string;
        const job = env.DM_JOB as string;
        if (exec.args[1]?.startsWith('rm')) {
          runs.uninstall.push({ job, name });
          installedOnDisk.delete(name);
          return { exitCode: 0, output: `removed ${name}` };
        }
        const location = env.DM_ARTIFACT as string;
        const stagingName = location.slice(location.lastIndexOf('/') + 1);
        const staged = hardware.staging.files.get(stagingName);
        const bytes = staged ? await readStaged(hardware, stagingName) : new Uint8Array();
        const artifactOk = createHash('sha256').update(bytes).digest('hex') === digests.get(`${name}@${version}`);
        runs.install.push({ job, name, version, artifactOk });
        if (!artifactOk) return { exitCode: 3, output: 'artifact missing or damaged' };
        installedOnDisk.set(name, version);
        return { exitCode: 0, output: `installed ${name} ${version}` };
      });
      return hardware;
    },
    async agent(hardware, config = {}, events) {
      const device = hardware.device ?? hardware.boot();
      await hardware.booted;
      // The operator accepted this device's key beforehand (Mender's preauthorization), as the demo does.
      await acceptDevice(manager, device);
      return createAgent(device, board, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, ...config, delivery: { manager: MANAGER, download: { checkpointBytes: 16 * 1024 }, ...(config.delivery as object) } }, events ? { onDeliveryEvent: (event) => events.push(event) } : {});
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Accepts `device`'s keystore key on `manager` (the admin's part of device authentication). */
export async function acceptDevice(manager: Manager, device: Device): Promise<void> {
  if (!device.keystore) return;
  const { key } = await device.keystore.publicKey();
  manager.deviceAuth.preauthorize((await device.system.identity()).deviceId, toHex(key));
}

async function readStaged(hardware: MockHardware, name: string): Promise<Uint8Array> {
  const device = hardware.device;
  if (!device) return new Uint8Array();
  const file = await device.staging.open({ name, create: false });
  try {
    return await file.read(0, await file.size());
  } finally {
    await file.close();
  }
}

export { artifactBytes };
