import type { Device, LogLevel } from '../hal/types.ts';
import { redactDeep, redactText } from './util/redact.ts';

/** Level-filtered structured logging into the HAL's sink, stamped with the device's UTC. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(device: Pick<Device, 'log' | 'clock'>, level: LogLevel): Logger {
  const write = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[at] < ORDER[level]) return;
    // The one door to the log sink: URLs in messages and fields lose credentials and signatures here.
    device.log.write({ level: at, message: redactText(message), ...(fields ? { fields: redactDeep(fields) } : {}), utcMs: device.clock.utcMs() });
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** One structured line per job transition (the seam's observability rule), for a machine's `onTransition`. */
export function logTransitions(log: Logger, family: string, job: string): (t: { from: string; event: string; to: string; storeCount: number }) => void {
  return (t) => log.info('job transition', { family, job, from: t.from, event: t.event, to: t.to, storeCount: t.storeCount });
}
