/** Log record rules shared by the HALs: a malformed record is a caller bug, reported at once. */
import { InvalidOptionsError } from '../errors.ts';
import type { LogLevel, LogRecord } from '../types.ts';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export function validateLogRecord(record: LogRecord): LogRecord {
  if (typeof record !== 'object' || record === null) throw new InvalidOptionsError('log.write: record object required');
  if (!isLogLevel(record.level)) throw new InvalidOptionsError(`log.write: level must be one of ${LOG_LEVELS.join(', ')}`);
  if (typeof record.message !== 'string') throw new InvalidOptionsError('log.write: message must be a string');
  if (typeof record.utcMs !== 'number' || !Number.isFinite(record.utcMs)) throw new InvalidOptionsError('log.write: utcMs must be a number');
  if (record.fields !== undefined && (typeof record.fields !== 'object' || record.fields === null || Array.isArray(record.fields)))
    throw new InvalidOptionsError('log.write: fields must be an object');
  return record;
}

/** True when `level` passes a minimum level filter. */
export function levelPasses(level: LogLevel, minimum: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(minimum);
}
