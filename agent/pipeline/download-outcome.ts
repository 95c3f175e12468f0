/**
 * How one download request ended, as the download stage (./download.ts) classifies it: the
 * outcomes, which HTTP statuses relocate or retry, which failure codes the caller may retry, and
 * the small helpers that build a stop or read `Retry-After`.
 */
import type { DownloadFailureCode } from './download-options.ts';

/** A failed stop, before the counters are attached. */
export interface Stop {
  code: DownloadFailureCode;
  message: string;
  status?: number;
}

/** How one request ended. */
export type Outcome =
  | { kind: 'complete' } // every byte of the artifact is in the sink
  | { kind: 'continue' } // a good partial answer ended short of the artifact: ask for the rest
  | { kind: 'retry'; message: string; retryAfterMs?: number } // transient: back off, resume
  | { kind: 'restart'; message: string } // our bytes cannot be continued: start over at 0
  | { kind: 'stop'; stop: Stop };

/** Not retried: the request was wrong or not allowed, asking again cannot help. */
export const RELOCATE_STATUSES = [403, 404, 410];
/** 4xx that mean "later", not "never". */
export const RETRYABLE_CLIENT_STATUSES = [408, 429];
export const RETRYABLE: Record<DownloadFailureCode, boolean> = {
  digestMismatch: true, // a transfer may have been corrupted; the caller's policy decides
  sizeMismatch: false,
  httpStatus: false,
  budgetExceeded: false,
  attemptsExhausted: true,
  relocate: true, // at a new location
  aborted: true,
  badUrl: false,
};

export function stop(code: DownloadFailureCode, message: string, status?: number): Outcome {
  return { kind: 'stop', stop: status === undefined ? { code, message } : { code, message, status } };
}

/** `Retry-After` in delta-seconds (the HTTP-date form needs a trusted wall clock: ignored). */
export function retryAfter(header: string | undefined): { retryAfterMs?: number } {
  if (header === undefined || !/^\s*\d{1,9}\s*$/.test(header)) return {};
  return { retryAfterMs: Number(header.trim()) * 1000 };
}
