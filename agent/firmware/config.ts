/** Configuration of the device update web service family (seeds 002/003), validated strictly. */
import { type ScheduleConfig, resolveSchedule, scheduleSchema } from '../families/schedule-config.ts';
import { type Infer, array, boolean, integer, object, optional, string } from '../transport/schema.ts';
import { type ServiceUrls, serviceUrlsSchema } from './service-urls.ts';
import { type ImageDownloadConfig, imageDownloadSchema, resolveImageDownload } from '../families/download-config.ts';
import { requireSecureUrl } from '../trust/transport-policy.ts';
import { onDemand } from '../transport/on-demand.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Built per check (a QuickJS board drops it after: ../transport/on-demand.ts), not held for the agent's life. */
export const firmwareConfigSchema = onDemand(() =>
  object(
    {
      /** In-band provisioning: the service's internal and external URLs. Without it: DNS discovery. */
      service: optional(serviceUrlsSchema),
      /** Accept `http://` service URLs (provisioned, discovered by DNS), logged at every connection. Default false: https only. */
      allowInsecure: optional(boolean()),
      /** This device is a test device (it also gets pending updates, if the service agrees). */
      testDevice: optional(boolean()),
      /** Checks at boot and every `intervalMs` (default 24 h); sign-in always triggers one too. */
      schedule: optional(scheduleSchema),
      /** Reboot into the new image after this long without user activity (default 5 min). */
      idleRebootMs: optional(integer({ min: 0 })),
      /** Reboot anyway this long after the image was ready (default 7 days). */
      maxDeferralMs: optional(integer({ min: 0 })),
      /** Health check of a trial boot: a command that must exit 0 (default: the agent came up). */
      healthCheck: optional(object({ command: string({ min: 1, max: 4096 }), args: optional(array(string({ max: 4096 }), { max: 64 })), timeoutMs: optional(integer({ min: 100 })) }, { strict: true })),
      download: optional(imageDownloadSchema),
      requestTimeoutMs: optional(integer({ min: 100 })),
    },
    { strict: true },
  ),
);

export interface FirmwareConfig {
  service?: ServiceUrls;
  allowInsecure: boolean;
  testDevice: boolean;
  schedule: ScheduleConfig;
  idleRebootMs: number;
  maxDeferralMs: number;
  healthCheck?: { command: string; args: string[]; timeoutMs: number };
  download: ImageDownloadConfig;
  requestTimeoutMs: number;
}

export function resolveFirmwareConfig(input: Infer<typeof firmwareConfigSchema>): FirmwareConfig {
  const allowInsecure = input.allowInsecure ?? false;
  if (input.service) for (const zone of ['internal', 'external'] as const) requireSecureUrl(input.service[zone], { allowInsecure }, `firmware.service.${zone}`);
  return {
    ...(input.service ? { service: input.service } : {}),
    allowInsecure,
    testDevice: input.testDevice ?? false,
    schedule: resolveSchedule(input.schedule, 'firmware.schedule', { intervalMs: 24 * HOUR, onBoot: true }),
    idleRebootMs: input.idleRebootMs ?? 5 * MINUTE,
    maxDeferralMs: input.maxDeferralMs ?? 7 * 24 * HOUR,
    ...(input.healthCheck ? { healthCheck: { command: input.healthCheck.command, args: input.healthCheck.args ?? [], timeoutMs: input.healthCheck.timeoutMs ?? 60_000 } } : {}),
    download: resolveImageDownload(input.download),
    requestTimeoutMs: input.requestTimeoutMs ?? 30_000,
  };
}

/** The `firmware` config section, checked and completed (the registry parses it without loading the family). */
export function parseFirmwareConfig(input: unknown): FirmwareConfig {
  return resolveFirmwareConfig(firmwareConfigSchema.parse(input, 'firmware'));
}
