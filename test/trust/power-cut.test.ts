/**
 * A power cut at every flash write during a root rotation and during a commit that raises a
 * security counter. After each cut and a reboot the trust state must be one of the two complete
 * states (before or after): never one that accepts a downgrade, never one that refuses all
 * updates (the next refresh, power on, succeeds).
 */
import { jsTrustCrypto } from './engines.ts';
import { describe, expect, it } from 'vitest';
import { PowerCutError } from '../../hal/errors.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { TrustedSet } from '../../agent/trust/trusted-set.ts';
import { refreshMetadata, resolveTarget } from '../../agent/trust/updater.ts';
import { approveTarget } from '../../agent/trust/artifact.ts';
import { NOW, TestRepo, newKey, newMedium } from './fixture.ts';

const clock = { rtcMs: NOW };

/** Runs `operation` with the n-th write cut, for n = 1, 2, … until it completes; `check` after each reboot. */
async function everyCut(
  setup: () => Promise<{ medium: ReturnType<typeof newMedium> }>,
  operation: (state: TrustState) => Promise<unknown>,
  check: (state: TrustState, cut: boolean) => Promise<void>,
): Promise<number> {
  for (let n = 1; ; n++) {
    const { medium } = await setup();
    const store = await medium.open();
    medium.power.cutAfter(n);
    let cut = false;
    try {
      await operation(new TrustState(store));
      medium.power.cancel();
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw error;
      cut = true;
    }
    medium.power.restore();
    await check(new TrustState(await medium.open()), cut);
    if (!cut) return n;
  }
}

describe('power cuts in trust state changes', () => {
  it('root rotation: every cut leaves root 1 or root 2, and the next refresh succeeds', async () => {
    const repo = new TestRepo();
    repo.add('app', 'v1', { version: '1.0.0' });
    repo.publish();
    const before = repo.copyFiles();
    const prepare = async () => {
      const medium = newMedium();
      const state = new TrustState(await medium.open());
      await state.provision(repo.rootBytes(1));
      await refreshMetadata(state, repo.source(before), clock, jsTrustCrypto);
      return { medium };
    };
    repo.rotateRoot({ root: [newKey()], timestamp: [newKey()] });
    repo.refresh();
    const writes = await everyCut(prepare, (state) => refreshMetadata(state, repo.source(), clock, jsTrustCrypto), async (state, cut) => {
      const root = state.rootBytes()!;
      expect([repo.rootBytes(1), repo.rootBytes(2)]).toContainEqual(root);
      expect(() => new TrustedSet(root, NOW, jsTrustCrypto)).not.toThrow();
      // once root 2 is in, the pre-rotation set (signed by the rotated-out timestamp key) is refused
      const replay = await refreshMetadata(state, repo.source(before), clock, jsTrustCrypto).then(() => undefined, (e: unknown) => e);
      if (Buffer.from(root).equals(Buffer.from(repo.rootBytes(2)))) expect(replay).toBeInstanceOf(TrustError);
      else expect(cut).toBe(true);
      // power on: the next refresh reaches the rotated root
      const set = await refreshMetadata(state, repo.source(), clock, jsTrustCrypto);
      expect(set.root.version).toBe(2);
    });
    expect(writes).toBeGreaterThan(2);
    console.log(`trust power-cut test: root rotation, ${writes - 1} write cut points exercised`);
  });

  it('raising a security counter: every cut leaves the old or the new minimum, never none', async () => {
    const repo = new TestRepo();
    repo.add('old', 'v0.9', { version: '0.9.0' });
    repo.add('app', 'v1', { version: '1.0.0' });
    repo.add('app2', 'v2', { version: '2.0.0' });
    repo.publish();
    const prepare = async () => {
      const medium = newMedium();
      const state = new TrustState(await medium.open());
      await state.provision(repo.rootBytes(1));
      await refreshMetadata(state, repo.source(), clock, jsTrustCrypto);
      await state.raiseMinimum('package', 'app', '1.0.0');
      return { medium };
    };
    const writes = await everyCut(prepare, (state) => state.raiseMinimum('package', 'app', '2.0.0'), async (state, cut) => {
      const minimum = state.minimum('package', 'app');
      expect(['1.0.0', '2.0.0']).toContain(minimum);
      if (!cut) expect(minimum).toBe('2.0.0');
      const set = await refreshMetadata(state, repo.source(), clock, jsTrustCrypto);
      const old = await resolveTarget(set, repo.source(), 'old');
      expect(() => approveTarget(old, 'old', { hardware: 'sim', minimumVersion: minimum })).toThrow(TrustError);
      const newer = await resolveTarget(set, repo.source(), 'app2');
      expect(approveTarget(newer, 'app2', { hardware: 'sim', minimumVersion: minimum }).version).toBe('2.0.0');
    });
    expect(writes).toBeGreaterThanOrEqual(1);
    console.log(`trust power-cut test: security counter commit, ${writes - 1} write cut points exercised`);
  });
});
