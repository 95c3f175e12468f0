/**
 * What the update service did, as data: every import, admin decision, check, report, refusal and
 * image download, in order. Tests read it (`service.journal()`, `GET /api/updates/journal`); with
 * a data directory it is also appended to `updates.jsonl` (the manager's JSON-lines journal) and
 * replayed at start, so imports, approvals, test devices and report ids survive a restart.
 *
 * Never in it: credentials, Authorization headers, password hashes. A user appears by name only,
 * and only after the service accepted the credentials.
 */
import type { ResultReport } from '../../agent/firmware/messages.ts';
import type { Zone } from '../../agent/firmware/client.ts';
import type { Rule, RuleState } from './rules.ts';

export const UPDATES_JOURNAL_FILE = 'updates.jsonl';

export type UpdateJournalEntry =
  | { type: 'import'; utcMs: number; folder: string; rules: Rule[]; known: string[] }
  | { type: 'decide'; utcMs: number; id: string; state: Exclude<RuleState, 'pending'> }
  | { type: 'testDevices'; utcMs: number; ids: string[] }
  | {
      type: 'check';
      utcMs: number;
      zone: Zone;
      deviceId: string;
      model: string;
      firmwareVersion: string;
      /** What the device said about itself; `testDevice` is what the service decided. */
      claimedTestDevice: boolean;
      testDevice: boolean;
      downloads: 0 | 1;
      ruleId?: string;
      version?: string;
      user?: string;
    }
  | { type: 'report'; utcMs: number; zone: Zone; report: ResultReport; user?: string }
  | { type: 'duplicateReport'; utcMs: number; zone: Zone; reportId: string }
  | { type: 'refused'; utcMs: number; zone: Zone; path: string; code: string }
  | { type: 'download'; utcMs: number; zone: Zone; sha256: string; method: string; status: number; range?: string; user?: string };
