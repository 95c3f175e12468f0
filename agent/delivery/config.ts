/** Configuration of the pull-model family, validated strictly (a typo must not pass silently). */
import { DEFAULT_CHECKPOINT_BYTES, DEFAULT_CHECKPOINT_MS } from '../pipeline/download-options.ts';
import { type Infer, boolean, httpUrl, integer, object, oneOf, optional } from '../transport/schema.ts';
import { requireSecureUrl } from '../trust/transport-policy.ts';
import { onDemand } from '../transport/on-demand.ts';
import { type ScheduleConfig, resolveSchedule, scheduleSchema } from '../families/schedule-config.ts';

const MINUTE = 60_000;
/** Failed polls of a manager the device was redirected to (./redirect.ts), before falling back to `manager`. */
const DEFAULT_REDIRECT_MAX_FAILED_POLLS = 3;

/**
 * Built when the section is checked (agent start, `dm-agent config check`) and dropped after on a
 * QuickJS board (../transport/on-demand.ts): this schema held ~6 KB of its heap for the
 * agent's life, for one check at start.
 */
export const deliveryConfigSchema = onDemand(() =>
  object(
    {
      /** URL of the manager (or scalability server) to poll. */
      manager: httpUrl(),
      /** Accept an `http://` manager (and redirects to one), logged at every connection. Default false: https only. */
      allowInsecure: optional(boolean()),
      /** Authenticate with the device key (keystore) and send the manager's token on every exchange. Default true. */
      deviceAuth: optional(boolean()),
      schedule: optional(scheduleSchema),
      /** `install`: optional packages are installed too; `skip`: only kept (and upgraded) when already installed. */
      optionalPackages: optional(oneOf(['install', 'skip'] as const)),
      download: optional(
        object(
          {
            maxAttempts: optional(integer({ min: 1, max: 100 })),
            /** Per-package byte budget as a multiple of the package size (retries included). */
            byteBudgetFactor: optional(integer({ min: 1, max: 100 })),
            /** A checkpoint needs this many new bytes *and* `checkpointMs` since the last one (README "Durability"). */
            checkpointBytes: optional(integer({ min: 4096 })),
            checkpointMs: optional(integer({ min: 0 })),
            timeoutMs: optional(integer({ min: 100 })),
            /** Downloads of a package whose digest did not match, before the job gives up. */
            corruptRetries: optional(integer({ min: 0, max: 10 })),
          },
          { strict: true },
        ),
      ),
      /** No progress (connect, headers, body bytes) for this long fails a manager exchange. */
      requestTimeoutMs: optional(integer({ min: 100 })),
      /** Bound on a whole manager exchange (headers + body), so a trickling manager cannot hold a poll. */
      requestDeadlineMs: optional(integer({ min: 100 })),
      /** Consecutive failed polls of a manager the device was redirected to, before falling back to `manager`. */
      redirectMaxFailedPolls: optional(integer({ min: 1, max: 1000 })),
      maxAnswerBytes: optional(integer({ min: 1024, max: 64 * 1024 * 1024 })),
      /**
       * Keep each installed package's artifact in staging (until the next version replaces it): the
       * source a manager's delta upgrade applies to. Costs the staging room of the installed set.
       */
      keepInstalled: optional(boolean()),
    },
    { strict: true },
  ),
);
export type DeliveryConfigInput = Infer<typeof deliveryConfigSchema>;

export interface DeliveryConfig {
  manager: string;
  allowInsecure: boolean;
  deviceAuth: boolean;
  schedule: ScheduleConfig;
  optionalPackages: 'install' | 'skip';
  download: { maxAttempts: number; byteBudgetFactor: number; checkpointBytes: number; checkpointMs: number; timeoutMs: number; corruptRetries: number };
  requestTimeoutMs: number;
  requestDeadlineMs: number;
  redirectMaxFailedPolls: number;
  maxAnswerBytes: number;
  keepInstalled: boolean;
}

export function resolveDeliveryConfig(input: DeliveryConfigInput): DeliveryConfig {
  const d = input.download ?? {};
  requireSecureUrl(input.manager, { allowInsecure: input.allowInsecure ?? false }, 'delivery.manager');
  return {
    manager: input.manager,
    allowInsecure: input.allowInsecure ?? false,
    deviceAuth: input.deviceAuth ?? true,
    schedule: resolveSchedule(input.schedule, 'delivery.schedule'),
    optionalPackages: input.optionalPackages ?? 'install',
    download: {
      maxAttempts: d.maxAttempts ?? 5,
      byteBudgetFactor: d.byteBudgetFactor ?? 3,
      checkpointBytes: d.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES,
      checkpointMs: d.checkpointMs ?? DEFAULT_CHECKPOINT_MS,
      timeoutMs: d.timeoutMs ?? 30_000,
      corruptRetries: d.corruptRetries ?? 1,
    },
    requestTimeoutMs: input.requestTimeoutMs ?? 30_000,
    // Generous (answers are small; a slow link still gets minutes), never shorter than the idle timeout.
    requestDeadlineMs: input.requestDeadlineMs ?? Math.max(5 * 60_000, input.requestTimeoutMs ?? 0),
    redirectMaxFailedPolls: input.redirectMaxFailedPolls ?? DEFAULT_REDIRECT_MAX_FAILED_POLLS,
    maxAnswerBytes: input.maxAnswerBytes ?? 4 * 1024 * 1024,
    keepInstalled: input.keepInstalled ?? false,
  };
}

/** The `delivery` config section, checked and completed (the registry parses it without loading the family). */
export function parseDeliveryConfig(input: unknown): DeliveryConfig {
  return resolveDeliveryConfig(deliveryConfigSchema.parse(input, 'delivery'));
}
