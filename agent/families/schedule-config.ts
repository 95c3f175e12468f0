/**
 * A family's `schedule` config section (every family shares it): checked and completed into the
 * ScheduleConfig the scheduler (./schedule.ts, ./scheduler.ts) runs on. Imported with the
 * families' config modules, so only a board whose config names a family loads it.
 */
import { type Infer, boolean, integer, object, optional, string } from '../transport/schema.ts';
import { onDemand } from '../transport/on-demand.ts';
import { MINUTE_MS, type PollWindow, type ScheduleConfig } from './schedule.ts';

export type { ScheduleConfig } from './schedule.ts';

const HOUR_MS = 60 * MINUTE_MS;

/** "HH:MM-HH:MM", one regular expression for the schema and the parser (each literal is code a QuickJS board keeps). */
const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Parses "HH:MM-HH:MM" (UTC) into a window. */
export function parseWindow(text: string): PollWindow | undefined {
  const match = WINDOW.exec(text);
  if (!match) return undefined;
  const [, h1, m1, h2, m2] = match as unknown as [string, string, string, string, string];
  return { startMinute: Number(h1) * 60 + Number(m1), endMinute: Number(h2) * 60 + Number(m2) };
}

/** A family's `schedule` config section: built per check (a QuickJS board drops it after: ../transport/on-demand.ts), not held for the agent's life. */
export const scheduleSchema = onDemand(() =>
  object(
    {
      intervalMs: optional(integer({ min: 1000 })),
      jitterMs: optional(integer({ min: 0 })),
      onBoot: optional(boolean()),
      requireExternalPower: optional(boolean()),
      minBatteryPercent: optional(integer({ min: 0, max: 100 })),
      allowMetered: optional(boolean()),
      /** "HH:MM-HH:MM" in UTC. */
      window: optional(string({ max: 11, pattern: WINDOW, label: 'a valid HH:MM-HH:MM UTC window' })),
      backoffInitialMs: optional(integer({ min: 1 })),
      backoffMaxMs: optional(integer({ min: 1 })),
      conditionRecheckMs: optional(integer({ min: 1000 })),
    },
    { strict: true },
  ),
);

/** Fills in defaults (24 h interval, 5 min jitter, at boot, …); `section` names the config path in errors. */
export function resolveSchedule(
  input: Infer<typeof scheduleSchema> | undefined,
  section: string,
  defaults: Partial<Pick<ScheduleConfig, 'intervalMs' | 'jitterMs' | 'onBoot'>> = {},
): ScheduleConfig {
  // The parsed section holds only the keys given (../transport/schema.ts), so spreading it over the defaults keeps them.
  const { window: text, backoffInitialMs: initialMs = 30_000, backoffMaxMs = HOUR_MS, ...given } = input ?? {};
  const window = text === undefined ? undefined : parseWindow(text);
  if (text !== undefined && window === undefined) throw new Error(`${section}.window: ${text} is not a valid HH:MM-HH:MM UTC window`);
  return {
    intervalMs: 24 * HOUR_MS,
    jitterMs: 5 * MINUTE_MS,
    onBoot: true,
    requireExternalPower: false,
    minBatteryPercent: 20,
    allowMetered: false,
    conditionRecheckMs: 5 * MINUTE_MS,
    ...defaults,
    ...given,
    ...(window ? { window } : {}),
    backoff: { initialMs, maxMs: Math.max(backoffMaxMs, initialMs), factor: 2 },
  };
}
