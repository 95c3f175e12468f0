/**
 * The A/B image update flow, as data. Its production handlers are the pipeline's image step
 * (../pipeline/image-step.ts, on `device.update`); this table is the single place that says what
 * may follow what.
 *
 *   downloading ─downloaded→ activating ─activated→ rebooting ⇢(boot)⇢ verifyingBoot ─healthy→ committing ─committed→ reportingSuccess → succeeded
 *        │failed                │failed                 │rebootFailed        │unhealthy / loop          │failed
 *        ▼                      ▼                       ▼                    ▼                          ▼
 *   reportingFailure ←──────────┘              rollingBack ⇢(boot)⇢ verifyingRollback ─rolledBack→ reportingFailure → failed
 *
 * Resume map (what a boot does with a persisted job): states whose side effect is safe to repeat
 * resume in place; `rebooting` resumes in `verifyingBoot` (did the new image come up?),
 * `rollingBack` in `verifyingRollback` (did the old one?). The loop guard sends pre-install
 * states to `reportingFailure` and post-install states to `rollingBack`.
 */
import type { MachineTable } from './table.ts';

export type UpdateState =
  | 'downloading'
  | 'activating'
  | 'rebooting'
  | 'verifyingBoot'
  | 'committing'
  | 'rollingBack'
  | 'verifyingRollback'
  | 'reportingSuccess'
  | 'reportingFailure'
  | 'succeeded'
  | 'failed';

export type UpdateEvent =
  | 'downloaded'
  | 'activated'
  | 'failed'
  | 'rebootFailed'
  | 'booted'
  | 'healthy'
  | 'unhealthy'
  | 'notBooted'
  | 'bootloaderRolledBack'
  | 'committed'
  | 'rolledBack'
  | 'notRolledBack'
  | 'reported';

export const updateFlow: MachineTable<UpdateState, UpdateEvent> = {
  name: 'ab-update',
  version: 1,
  initial: 'downloading',
  loopState: 'reportingFailure',
  giveUpState: 'failed',
  maxStoreCount: 30,
  // Compact states (./table.ts CompactState): `event>target …`, then `@resume>` / `@onLoop>`.
  states: {
    downloading: 'downloaded>activating failed>reportingFailure',
    activating: 'activated>rebooting failed>reportingFailure',
    // booted: a power cut after activation already booted the new image.
    rebooting: 'rebootFailed>rollingBack booted>verifyingBoot @resume>verifyingBoot @onLoop>rollingBack',
    verifyingBoot: 'healthy>committing unhealthy>rollingBack notBooted>rebooting bootloaderRolledBack>reportingFailure @onLoop>rollingBack',
    committing: 'committed>reportingSuccess failed>rollingBack @onLoop>rollingBack',
    // rolledBack: a pending image that never booted is dropped without a reboot.
    rollingBack: 'failed>reportingFailure rolledBack>reportingFailure @resume>verifyingRollback',
    verifyingRollback: 'rolledBack>reportingFailure notRolledBack>rollingBack',
    reportingSuccess: 'reported>succeeded @onLoop>succeeded',
    reportingFailure: 'reported>failed @onLoop>failed',
    succeeded: '@final',
    failed: '@final',
  },
};
