/**
 * The hold point between "downloaded and verified" and "install": OMA DM FUMO waits there for Exec
 * Update (State 50 "Ready to Update"), seeds 002/003 wait for five idle minutes before the reboot,
 * a kiosk may wait for its user's consent. Pure: the decision is a function of the policy, the
 * persisted hold record and the facts now, so every rule is testable without a clock.
 *
 * Released by, in this order: a command (a server's Exec Update), a consent (the user said yes),
 * a deadline (`maxDeferralMs` since the hold began: the update is forced), a condition (the
 * device was idle for `idleMs`: any user activity restarts that wait).
 */

export interface HoldPolicy {
  /** Release when the device has been idle this long (seeds 002/003: 5 minutes). */
  idleMs?: number;
  /** Release anyway this long after the hold began. */
  maxDeferralMs?: number;
  /** Only an explicit command or consent releases the hold (FUMO). */
  requireRelease?: 'command' | 'consent';
  /** How often to look again when nothing tells us (no idle rule: the deadline alone). */
  recheckMs?: number;
}

/** Persisted with the job while it is held. */
export interface HoldRecord {
  sinceUtcMs: number;
  releasedBy?: HoldRelease;
}

export type HoldRelease = 'command' | 'consent' | 'deadline' | 'idle' | 'policy';

export interface HoldFacts {
  nowUtcMs: number;
  /** Milliseconds since the last user activity (HAL `power.idleMs()`). */
  idleMs: number;
  /** A command or consent arrived for this job. */
  released?: 'command' | 'consent';
}

export type HoldDecision = { release: true; by: HoldRelease } | { release: false; recheckMs: number; waitingFor: 'idle' | 'command' | 'consent' | 'deadline' };

export function decideHold(policy: HoldPolicy, hold: HoldRecord, facts: HoldFacts): HoldDecision {
  if (facts.released) return { release: true, by: facts.released };
  const untilDeadline = policy.maxDeferralMs === undefined ? Infinity : hold.sinceUtcMs + policy.maxDeferralMs - facts.nowUtcMs;
  if (untilDeadline <= 0) return { release: true, by: 'deadline' };
  if (policy.requireRelease) return { release: false, waitingFor: policy.requireRelease, recheckMs: Math.min(untilDeadline, policy.recheckMs ?? 60_000) };
  if (policy.idleMs === undefined) {
    if (policy.maxDeferralMs === undefined) return { release: true, by: 'policy' };
    return { release: false, waitingFor: 'deadline', recheckMs: Math.min(untilDeadline, policy.recheckMs ?? untilDeadline) };
  }
  const idleLeft = policy.idleMs - Math.max(0, facts.idleMs);
  if (idleLeft <= 0) return { release: true, by: 'idle' };
  // Look again exactly when the idle time could be reached (activity meanwhile pushes it out again).
  return { release: false, waitingFor: 'idle', recheckMs: Math.min(idleLeft, untilDeadline) };
}
