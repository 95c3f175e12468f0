/** What a poll cycle tells its caller: progress events while it runs and a summary at the end. */

export class DeliveryError extends Error {
  readonly code: 'badPackageList' | 'suspended' | 'packageDbFull' | 'noKeystore';
  constructor(code: DeliveryError['code'], message: string) {
    super(message);
    this.name = 'DeliveryError';
    this.code = code;
  }
}

export interface CycleSummary {
  /** URL polled. */
  manager: string;
  /** Address of the domain manager, from its answer. */
  managerAddress: string;
  referenceCounter: number;
  /** The manager changed with this connection (seed 004). */
  moved: boolean;
  installed: string[];
  upgraded: string[];
  removed: string[];
  failed: { name: string; version: string; action: string; reason: string }[];
  kept: number;
  skipped: string[];
  reports: string[];
  nextPollMs?: number;
  /** Packages of the plan left for a later poll (job limits); absent when none. */
  deferred?: number;
}

export type DeliveryEvent =
  | { kind: 'cycleStart'; manager: string }
  | { kind: 'plan'; install: number; upgrade: number; remove: number; keep: number; skipped: number }
  | { kind: 'jobStart'; jobId: string; action: string; name: string; version: string; size?: number }
  | { kind: 'progress'; jobId: string; name: string; version: string; offset: number; size: number }
  | { kind: 'jobEnd'; jobId: string; action: string; name: string; version: string; ok: boolean }
  | { kind: 'report'; report: string }
  | { kind: 'cycleEnd'; summary: CycleSummary }
  | { kind: 'cycleFailed'; error: string; retryInMs: number }
  /** The polling loop sleeps: why, and for how long (milliseconds of the HAL clock). */
  | { kind: 'waiting'; reason: string; delayMs: number };
