/** The hold decision (agent/pipeline/hold.ts): command, consent, deadline, idle condition. */
import { describe, expect, it } from 'vitest';
import { decideHold } from '../../agent/pipeline/hold.ts';

const MIN = 60_000;
const held = { sinceUtcMs: 1_000_000 };

describe('decideHold', () => {
  it('idle condition: released after the idle time, else rechecked exactly when it could be reached', () => {
    const policy = { idleMs: 5 * MIN, maxDeferralMs: 60 * MIN };
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs, idleMs: 5 * MIN })).toEqual({ release: true, by: 'idle' });
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs, idleMs: 2 * MIN })).toEqual({ release: false, waitingFor: 'idle', recheckMs: 3 * MIN });
    // Activity just now: the whole wait again.
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs + 10 * MIN, idleMs: 0 })).toMatchObject({ release: false, recheckMs: 5 * MIN });
  });

  it('the deadline forces the release; the recheck never sleeps past it', () => {
    const policy = { idleMs: 5 * MIN, maxDeferralMs: 60 * MIN };
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs + 58 * MIN, idleMs: 0 })).toMatchObject({ release: false, recheckMs: 2 * MIN });
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs + 60 * MIN, idleMs: 0 })).toEqual({ release: true, by: 'deadline' });
  });

  it('a hold that needs a command (FUMO Exec Update) waits for it or the deadline', () => {
    const policy = { requireRelease: 'command' as const, maxDeferralMs: 10 * MIN, recheckMs: MIN };
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs, idleMs: 99 * MIN })).toEqual({ release: false, waitingFor: 'command', recheckMs: MIN });
    expect(decideHold(policy, held, { nowUtcMs: held.sinceUtcMs, idleMs: 0, released: 'command' })).toEqual({ release: true, by: 'command' });
    expect(decideHold({}, held, { nowUtcMs: 0, idleMs: 0 })).toEqual({ release: true, by: 'policy' });
  });
});
