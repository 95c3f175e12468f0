/**
 * The one pipeline every protocol family uses to bring an artifact onto the device, as a state
 * table (data; the engine is ../machine):
 *
 *   locating ─located→ announcing ─reported→ downloading ─downloaded/failed→ reportingDownload ─install→ installing ─installed/failed→ reportingInstall ─reported→ finishing → succeeded
 *      │failed            (status: begin)      │relocate (URL expired)      (status: end)  │hold    ↑released   (status: post-install end)  │abandon
 *      └──→ reportingDownload                  └──→ locating                                 ├──→ holding                 └──→ abandoning → failed
 *                                                                                            └──→ locating (retry) / abandoning → failed
 *
 * `holding` (./hold.ts) is the point where a verified artifact waits for a command (FUMO Exec
 * Update), a consent, a condition (five idle minutes) or a deadline; a family without a hold goes
 * straight to `installing`. Reports are outbox entries (../outbox) committed with the transition
 * that decided them, so each is queued exactly once and delivered at least once.
 *
 * Seed 000's download event is exactly its four phases: location request, status "download
 * begins", status "download ends" (success triggers the post-install command), status
 * "post-install ends". Resume map: a download resumes in place (from its last checkpoint, with
 * Range); an install interrupted by a power cut resumes in `recoveringInstall`, which repeats it
 * only when the family says that is safe (writing a firmware slot) and otherwise reports it
 * interrupted — a post-install command never runs twice for one job.
 */
import type { MachineTable } from '../machine/index.ts';

export type PipelineState =
  | 'locating'
  | 'announcing'
  | 'downloading'
  | 'reportingDownload'
  | 'holding'
  | 'installing'
  | 'recoveringInstall'
  | 'reportingInstall'
  | 'finishing'
  | 'abandoning'
  | 'succeeded'
  | 'failed';

export type PipelineEvent =
  | 'located'
  | 'failed'
  | 'reported'
  | 'downloaded'
  | 'relocate'
  | 'install'
  | 'hold'
  | 'released'
  | 'retry'
  | 'abandon'
  | 'installed'
  | 'retryInstall'
  | 'interrupted'
  | 'finished'
  | 'abandoned';

export const pipelineFlow: MachineTable<PipelineState, PipelineEvent> = {
  name: 'pipeline',
  // 2: `holding` added. A version-1 record is a valid version-2 record (no state was renamed).
  version: 2,
  migrate: (record) => (record.version === 1 ? (record as { state: PipelineState; context: unknown }) : undefined),
  initial: 'locating',
  loopState: 'abandoning',
  giveUpState: 'failed',
  maxStoreCount: 40,
  // Compact states (../machine/table.ts CompactState): `event>target …`, then `@resume>`; one
  // string each instead of an object per state and per `on` (a QuickJS board keeps every distinct
  // object layout for the agent's life).
  states: {
    locating: 'located>announcing failed>reportingDownload',
    announcing: 'reported>downloading',
    downloading: 'downloaded>reportingDownload failed>reportingDownload relocate>locating',
    reportingDownload: 'install>installing hold>holding retry>locating abandon>abandoning',
    holding: 'released>installing abandon>abandoning',
    installing: 'installed>reportingInstall failed>reportingInstall @resume>recoveringInstall',
    recoveringInstall: 'retryInstall>installing interrupted>reportingInstall',
    reportingInstall: 'reported>finishing abandon>abandoning',
    finishing: 'finished>succeeded',
    abandoning: 'abandoned>failed',
    succeeded: '@final',
    failed: '@final',
  },
};
