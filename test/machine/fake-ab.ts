/**
 * A deliberately small A/B device model for exercising the update *table*: slots, a bootloader
 * with trial boots and a boot-count limit, and counters for every side effect. The real A/B HAL
 * is tested by the shared HAL suite; here what matters is which side effects the flow performs.
 */
import type { StateHandler } from '../../agent/machine/index.ts';
import type { UpdateEvent, UpdateState } from '../../agent/machine/index.ts';

export type Slot = 'a' | 'b';

export class FakeAb {
  active: Slot = 'a';
  pending: Slot | undefined;
  confirmed = true;
  bootCount = 0;
  previous: Slot | undefined;
  healthyImage = true;
  downloadFails = false;
  bootLimit = 3;
  reboots = 0;
  confirms = 0;
  reports: string[] = [];
  written: Slot[] = [];

  /** Bootloader: try the pending slot once, return to the previous one when a trial is over its limit. */
  boot(): void {
    if (this.pending) {
      this.previous = this.active;
      this.active = this.pending;
      this.pending = undefined;
      this.confirmed = false;
      this.bootCount = 1;
    } else if (!this.confirmed) {
      this.bootCount++;
      if (this.bootCount > this.bootLimit && this.previous) {
        this.active = this.previous;
        this.confirmed = true;
        this.bootCount = 0;
      }
    }
  }
}

export interface Job {
  target: Slot;
  original: Slot;
  error?: string;
}

type H = StateHandler<UpdateState, UpdateEvent, Job>;

export function handlersFor(device: FakeAb): Partial<Record<UpdateState, H>> {
  return {
    downloading: async (job) => {
      if (device.downloadFails) return { event: 'failed', context: { ...job, error: 'download' } };
      device.written.push(job.target);
      return { event: 'downloaded' };
    },
    activating: async (job) => {
      device.pending = job.target;
      return { event: 'activated' };
    },
    rebooting: async () => {
      device.reboots++;
      return { suspend: 'reboot' };
    },
    verifyingBoot: async (job) => {
      if (device.pending === job.target) return { event: 'notBooted' };
      if (device.active !== job.target) return { event: 'bootloaderRolledBack', context: { ...job, error: 'bootloader rolled back' } };
      return device.healthyImage ? { event: 'healthy' } : { event: 'unhealthy', context: { ...job, error: 'health check' } };
    },
    committing: async () => {
      device.confirmed = true;
      device.confirms++;
      return { event: 'committed' };
    },
    rollingBack: async (job) => {
      // The next boot runs the original slot again (unless the bootloader already went back).
      device.pending = device.active !== job.original ? job.original : undefined;
      device.reboots++;
      return { suspend: 'reboot' };
    },
    verifyingRollback: async (job) => {
      if (device.pending === job.original) return { event: 'notRolledBack' };
      if (device.active === job.original) {
        device.confirmed = true;
        return { event: 'rolledBack' };
      }
      return { event: 'notRolledBack' };
    },
    reportingSuccess: async () => {
      device.reports.push('success');
      return { event: 'reported' };
    },
    reportingFailure: async (job) => {
      device.reports.push(`failure:${job.error ?? 'unknown'}`);
      return { event: 'reported' };
    },
  };
}
