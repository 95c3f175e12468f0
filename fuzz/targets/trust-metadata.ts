/**
 * The TUF metadata model and the trusted set (agent/trust): any bytes offered as a root,
 * timestamp, snapshot or targets file end in a verified role or a TrustError — never another
 * exception, never a hang — and nothing unsigned is ever accepted. Seeds are a real signed
 * repository (fixed keys, so runs reproduce); mutants mostly break signatures, which is the
 * point: the structure checks before and after the signature check must hold for all of them.
 */
import { TrustError } from '../../agent/trust/errors.ts';
import { signingKeyFrom } from '../../agent/trust/signing.ts';
import { TrustedSet } from '../../agent/trust/trusted-set.ts';
import {
  envelopeBytes, rootSigned, signEnvelope, snapshotSigned, targetsSigned, timestampSigned,
} from '../../agent/trust/repository.ts';
import { jsTrustCrypto } from '../../test/trust/engines.ts';
import type { FuzzTarget } from '../types.ts';

const NOW = Date.UTC(2026, 0, 1);
const YEAR = 365 * 86_400_000;
// Ed25519 except targets (P-256), so both verifiers are fuzzed and a run stays fast.
const key = (seed: number) => signingKeyFrom(seed === 4 ? 'ecdsa-p256' : 'ed25519', new Uint8Array(32).fill(seed));
const keys = { root: key(1), timestamp: key(2), snapshot: key(3), targets: key(4) };
const entry = (k: ReturnType<typeof key>) => ({ keys: [{ keyid: k.keyid, public: k.public }], threshold: 1 });
const roles = { root: entry(keys.root), timestamp: entry(keys.timestamp), snapshot: entry(keys.snapshot), targets: entry(keys.targets) };

const root1 = envelopeBytes(signEnvelope(rootSigned({ version: 1, expiresMs: NOW + YEAR, roles }), [keys.root]));
const root2 = envelopeBytes(signEnvelope(rootSigned({ version: 2, expiresMs: NOW + YEAR, roles }), [keys.root]));
const targets = envelopeBytes(signEnvelope(targetsSigned(1, NOW + YEAR, [
  { path: 'packages/app/1.0.0', length: 5, sha256: 'a'.repeat(64), custom: { version: '1.0.0', hardware: ['sim'], postInstall: { command: '/bin/true', args: [], timeoutMs: 1000 } } },
], { keys: { [keys.targets.keyid]: keys.targets.public as never }, roles: [{ name: 'team', keyids: [keys.targets.keyid], threshold: 1, paths: ['packages/team/*'], terminating: false }] }), [keys.targets]));
const snapshot = envelopeBytes(signEnvelope(snapshotSigned(1, NOW + YEAR, { targets: { version: 1, bytes: targets } }), [keys.snapshot]));
const timestamp = envelopeBytes(signEnvelope(timestampSigned(1, NOW + YEAR, { version: 1, bytes: snapshot }), [keys.timestamp]));

const SEEDS = [root2, timestamp, snapshot, targets];

/**
 * One prepared set per step, reused across inputs: a refused update must leave the set exactly as
 * it was (that is part of the contract under test), so only an accepted input costs a rebuild.
 * This keeps a run to at most one signature check per step.
 */
const prepare: (() => TrustedSet)[] = [
  () => new TrustedSet(root1, NOW, jsTrustCrypto),
  () => new TrustedSet(root1, NOW, jsTrustCrypto),
  () => {
    const set = new TrustedSet(root1, NOW, jsTrustCrypto);
    set.updateTimestamp(timestamp);
    return set;
  },
  () => {
    const set = new TrustedSet(root1, NOW, jsTrustCrypto);
    set.updateTimestamp(timestamp);
    set.updateSnapshot(snapshot);
    return set;
  },
];
const steps: ((set: TrustedSet, input: Uint8Array) => unknown)[] = [
  (set, input) => set.updateRoot(input),
  (set, input) => set.updateTimestamp(input),
  (set, input) => set.updateSnapshot(input, true),
  (set, input) => set.updateTargets(input),
];
const prepared: (TrustedSet | undefined)[] = [];

export const target: FuzzTarget = {
  name: 'trust-metadata',
  seeds: () => SEEDS.map((s) => s.slice()),
  run(input) {
    for (let i = 0; i < steps.length; i++) {
      const set = (prepared[i] ??= prepare[i]!());
      const before = [set.root.version, set.timestamp?.version, set.snapshot?.version, set.targets()?.version].join();
      try {
        steps[i]!(set, input);
      } catch (error) {
        if (!(error instanceof TrustError)) throw error;
        if ([set.root.version, set.timestamp?.version, set.snapshot?.version, set.targets()?.version].join() !== before) throw new Error('a refused update changed the trusted set');
        continue;
      }
      prepared[i] = undefined;
      // Accepted: it must be one of the genuine files up to formatting (a signed, unchanged role).
      if (!SEEDS.some((seed) => sameSigned(seed, input))) throw new Error('accepted metadata that is not a genuine signed role');
    }
  },
  isExpected: (error) => error instanceof TrustError,
  timeoutMs: 2000,
};

function sameSigned(a: Uint8Array, b: Uint8Array): boolean {
  try {
    const x = JSON.parse(new TextDecoder().decode(a)) as { signed: unknown };
    const y = JSON.parse(new TextDecoder().decode(b)) as { signed: unknown };
    return JSON.stringify(x.signed) === JSON.stringify(y.signed) || canonicalEq(x.signed, y.signed);
  } catch {
    return false;
  }
}

function canonicalEq(a: unknown, b: unknown): boolean {
  const sort = (v: unknown): unknown => (Array.isArray(v) ? v.map(sort) : typeof v === 'object' && v !== null ? Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]) : v);
  return JSON.stringify(sort(a)) === JSON.stringify(sort(b));
}
