/**
 * A phone on the mock HAL next to the reference update service (server/updates) mounted on the
 * same in-process network: internal origin over http, external over https. Small A/B slots keep
 * the cut-everywhere tests quick; the virtual clock is shared by device and network.
 */
import { readFile } from 'node:fs/promises';
import { type Agent, createAgent } from '../../agent/index.ts';
import { formatDiscoveryRecord } from '../../agent/firmware/messages.ts';
import { MockHardware, VirtualClock, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork, type MockNetwork } from '../../hal/mock/net.ts';
import type { UpdateService } from '../../server/updates/index.ts';
import type { DeltaMaker } from '../../server/deltas.ts';
import { programFactoryImage } from '../../cli/demo/delta.ts';
import { mount, tempDir, testService, writeImageFolder } from '../server/updates-fixture.ts';

const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8'));

/** The sim board with 64 KiB slots. */
export const phoneBoard = {
  ...sim,
  name: 'phone',
  partitions: [
    { name: 'bootctl', offset: 0, size: 8192 },
    { name: 'state', offset: 8192, size: 65536 },
    { name: 'slot_a', offset: 73728, size: 65536 },
    { name: 'slot_b', offset: 139264, size: 65536 },
    { name: 'packages', size: 1048576, kind: 'staging' },
  ],
};

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const MODEL = 'CX600';
export const FROM = '4.0.1';
export const TO = '4.1.0';

export interface Phone {
  hardware: MockHardware;
  agent: Agent;
}

export interface UpdateWorld {
  clock: VirtualClock;
  network: MockNetwork;
  service: UpdateService;
  image: Uint8Array;
  ruleId: string;
  /** `factory`: the bytes in the active slot at first boot (the running FROM image). */
  phone(deviceId: string, options?: { config?: Record<string, unknown>; bootCountLimit?: number; factory?: Uint8Array }): Promise<Phone>;
  /** Boots the hardware again (after a requested reboot or a power cut) and starts a new agent. */
  restart(phone: Phone, config?: Record<string, unknown>): Promise<Phone>;
  /** Reports the service accepted (resends it recognised by report id are not in it). */
  results(deviceId: string): { outcome: string; toVersion: string; runningVersion: string; reportId: string }[];
  /** Resends the service recognised (the outbox resent after a lost acknowledgement). */
  duplicates(): number;
  checks(deviceId?: string): number;
  cleanup(): Promise<void>;
}

export interface WorldOptions {
  imageBytes?: number;
  approve?: boolean;
  testDevices?: string[];
  /** The image of FROM, imported too (left pending): the service can then offer TO as a delta from it. */
  source?: Uint8Array;
  /** The image of TO (default: a fixed pattern of `imageBytes`). */
  image?: Uint8Array;
  deltas?: DeltaMaker;
}

export async function updateWorld(options: WorldOptions = {}): Promise<UpdateWorld> {
  const temp = await tempDir('dm-fw-');
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  const network = createMockNetwork({ clock: clock.scope().clock, chunkSize: 2048 });
  const service = await testService({ ...(options.testDevices ? { testDevices: options.testDevices } : {}), ...(options.deltas ? { deltas: options.deltas } : {}), now: () => clock.utcMs() } as never);
  const size = options.imageBytes ?? 12 * 1024;
  const bytes = options.image ?? new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
  const { folder } = await writeImageFolder(temp.dir, 'cab', [
    { model: MODEL, version: TO, from: [FROM], bytes },
    ...(options.source ? [{ model: MODEL, version: FROM, from: ['0.0.0'], bytes: options.source }] : []),
  ]);
  const imported = await service.importFolder(folder);
  const ruleId = imported.imported[0]!.id;
  if (options.approve !== false) service.decide(ruleId, 'approved');
  mount(network, service);
  const urls = service.serviceUrls();
  network.setDomain('corp.test');
  network.setDns('ucupdates-r2.corp.test', 'TXT', [formatDiscoveryRecord(urls)]);

  const configs = new Map<MockHardware, Record<string, unknown>>();
  const start = async (hardware: MockHardware, config: Record<string, unknown>): Promise<Phone> => {
    configs.set(hardware, config);
    const agent = await createAgent(hardware.device!, phoneBoard, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, ...config });
    return { hardware, agent };
  };
  return {
    clock,
    network,
    service,
    image: bytes,
    ruleId,
    async phone(deviceId, o = {}) {
      const hardware = new MockHardware({
        ...mockOptionsFromBoard(phoneBoard),
        clock,
        network,
        identity: { deviceId, model: MODEL, hardwareId: `hw-${deviceId}`, firmwareVersion: FROM },
        ...(o.bootCountLimit !== undefined ? { bootCountLimit: o.bootCountLimit } : {}),
      });
      hardware.boot();
      await hardware.booted;
      if (o.factory) await programFactoryImage(hardware.device!, o.factory);
      return start(hardware, {
        // The seeds' internal URL is plain HTTP inside the firewall: allowed explicitly.
        firmware: { service: urls, allowInsecure: true, download: { checkpointBytes: 4096 }, schedule: { jitterMs: 0 }, ...(o.config?.firmware as object) },
        ...Object.fromEntries(Object.entries(o.config ?? {}).filter(([k]) => k !== 'firmware')),
      });
    },
    async restart(phone, config) {
      await phone.agent.close().catch(() => undefined);
      phone.hardware.reboot();
      await phone.hardware.booted;
      return start(phone.hardware, config ?? (configs.get(phone.hardware) as Record<string, unknown>));
    },
    results(deviceId) {
      return service
        .journal()
        .filter((e) => e.type === 'report' && e.report.deviceId === deviceId)
        .map((e) => {
          const { outcome, toVersion, runningVersion, reportId } = (e as Extract<typeof e, { type: 'report' }>).report;
          return { outcome, toVersion, runningVersion, reportId };
        });
    },
    duplicates() {
      return service.journal().filter((e) => e.type === 'duplicateReport').length;
    },
    checks(deviceId) {
      return service.journal().filter((e) => e.type === 'check' && (deviceId === undefined || e.deviceId === deviceId)).length;
    },
    cleanup: temp.cleanup,
  };
}

/** Lets promise chains and zero-delay timers settle on the virtual clock. */
export async function settle(clock: VirtualClock, rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await clock.advance(0);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
