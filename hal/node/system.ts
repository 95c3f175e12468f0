/**
 * Identity and machine inventory of the Node HAL. Identity defaults come from the machine
 * (/etc/machine-id, hostname); options override them. The firmware version is the active A/B
 * slot's image version when one was installed through the update facet, as on the mock.
 */
import { readFile, statfs } from 'node:fs/promises';
import { arch, availableParallelism, cpus, hostname, networkInterfaces, platform, release, totalmem, type } from 'node:os';
import type { DeviceIdentity, MachineInventory, System } from '../types.ts';

export function createNodeSystem(options: {
  identity: Partial<DeviceIdentity>;
  workDir: string;
  flashImageBytes: number;
  activeVersion: () => Promise<string | undefined>;
}): System {
  let base: Promise<DeviceIdentity> | undefined;
  return {
    async identity() {
      base ??= defaultIdentity().then((defaults) => ({ ...defaults, ...options.identity }));
      const identity = { ...(await base) };
      const running = await options.activeVersion();
      if (running !== undefined) identity.firmwareVersion = running;
      return identity;
    },
    async inventory(): Promise<MachineInventory> {
      const fs = await statfs(options.workDir);
      const cpu = cpus()[0];
      const inventory: MachineInventory = {
        architecture: arch(),
        operatingSystem: (await osRelease()) ?? `${type()} (${platform()})`,
        kernelVersion: release(),
        cpuCount: availableParallelism(),
        memoryBytes: totalmem(),
        storage: [
          { name: 'workDir', sizeBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize },
          { name: 'flash', sizeBytes: options.flashImageBytes },
        ],
        network: Object.entries(networkInterfaces()).map(([name, addresses]) => {
          const list = addresses ?? [];
          const mac = list.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac;
          return { name, ...(mac ? { mac } : {}), addresses: list.map((a) => a.address) };
        }),
      };
      if (cpu?.model) inventory.cpuModel = cpu.model.trim();
      return inventory;
    },
  };
}

async function defaultIdentity(): Promise<DeviceIdentity> {
  const machineId = (await readFile('/etc/machine-id', 'utf8').catch(() => '')).trim();
  const host = hostname();
  return {
    deviceId: machineId || host,
    model: `${platform()}-${arch()}`,
    oem: 'dm-agent',
    hardwareId: machineId || host,
    firmwareVersion: '0.0.0',
    locale: defaultLocale(),
  };
}

/**
 * The locale from the POSIX environment (`LC_ALL`, `LC_MESSAGES`, `LANG`: `de_CH.UTF-8@euro` →
 * `de-CH`), which is where ICU takes its default from too; `C`/`POSIX`/unset is `en-US`, as ICU
 * reports it. Not `Intl.DateTimeFormat()`: its first call loads ICU data, ~25 ms of every start.
 */
export function defaultLocale(env: Record<string, string | undefined> = process.env): string {
  const raw = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  const tag = (raw.split(/[.@]/)[0] ?? '').replace(/_/g, '-');
  return /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag) ? tag : 'en-US';
}

/** PRETTY_NAME from os-release (e.g. "Debian GNU/Linux 12 (bookworm)"), when present. */
async function osRelease(): Promise<string | undefined> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return match?.[1] || undefined;
}
