/**
 * Log sink of the Node HAL: one JSON object per line on stderr (journald and `docker logs`
 * keep them as structured text; stdout stays free for CLI output), or a custom sink. Records
 * below the configured level are dropped here, so the agent can log debug freely.
 */
import type { Log, LogLevel, LogRecord } from '../types.ts';
import { levelPasses, validateLogRecord } from '../shared/log-record.ts';

export function createNodeLog(options: { level: LogLevel; sink: ((record: LogRecord) => void) | undefined }): Log {
  const sink = options.sink ?? ((record: LogRecord) => void process.stderr.write(`${safeJson(record)}\n`));
  return {
    write(record: LogRecord): void {
      validateLogRecord(record);
      if (levelPasses(record.level, options.level)) sink(record);
    },
  };
}

/** Field values the agent passes are meant to be JSON, but a log call must never throw for that. */
function safeJson(record: LogRecord): string {
  try {
    return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch {
    return JSON.stringify({ level: record.level, message: record.message, utcMs: record.utcMs, fields: '[unserialisable]' });
  }
}
