/**
 * The one place that decides what metadata is trusted (the idea of python-tuf ngclient's trusted
 * metadata set): it takes bytes and a trusted time, never does IO, and only ever moves forward
 * through the TUF client workflow:
 *
 *   root (chain, one version at a time) → timestamp → snapshot → targets → delegated targets
 *
 * Every update either returns the new, verified role or throws a `TrustError` and leaves the set
 * as it was. The caller fetches (with length caps and deadlines) and persists what this accepted.
 */
import { toHex, utf8Encode } from '../util/bytes.ts';
import { canonicalBytes, parseJson } from './canonical-json.ts';
import { TrustError } from './errors.ts';
import { verifySignature, type PublicKey } from './keys.ts';
import type { TrustCrypto } from './verify.ts';
import {
  type DelegatedRole, type Envelope, type MetaFile, type RoleKeys, type Root, type Snapshot, type TargetFile, type Targets, type Timestamp,
  parseEnvelope, parseRoot, parseSnapshot, parseTargets, parseTimestamp,
} from './metadata.ts';

/** Delegations followed at most this deep and this many roles per lookup (a cycle or a maze ends). */
const MAX_DELEGATIONS = 32;

export type TargetLookup =
  | { kind: 'found'; target: TargetFile; role: string }
  /** A delegated role that may hold the path is not loaded yet: fetch it, `updateDelegatedTargets`, ask again. */
  | { kind: 'need'; role: string; delegator: string }
  | { kind: 'none' };

export class TrustedSet {
  // The accepted roles are plain declared fields, read-only outside and set only by the updates
  // below; the rest TypeScript-private. No `#` fields, initializers or getters: each is more code
  // in a QuickJS heap. The root's bytes are not kept: the caller has them (it persists them).
  declare readonly root: Root;
  declare readonly timestamp?: Timestamp;
  declare readonly snapshot?: Snapshot;
  private declare readonly _targets: Map<string, Targets>;
  private declare readonly nowMs: number;
  private declare readonly crypto: TrustCrypto;

  /**
   * `rootBytes`: the root the device already trusts (shipped, or the last one this set accepted).
   * It is checked against its own keys but not for expiry: an expired root is still the anchor
   * from which a newer one is verified. `nowMs`: the trusted clock (./clock.ts). `crypto`: the
   * signature verifier and SHA-256 (./verify.ts).
   */
  constructor(rootBytes: Uint8Array, nowMs: number, crypto: TrustCrypto) {
    this.crypto = crypto;
    this._targets = new Map();
    const envelope = envelopeOf(rootBytes, 'root');
    const root = parseRoot(envelope.signed);
    this.checkSigned(envelope, root.keys, root.roles.root, 'root');
    this.root = root;
    this.nowMs = nowMs;
  }

  targets(role = 'targets'): Targets | undefined {
    return this._targets.get(role);
  }

  /**
   * The next root (version N+1 only): signed by a threshold of the current root's root keys *and*
   * of its own, so neither a rotated-out key set nor a stolen minority can move the chain.
   */
  updateRoot(bytes: Uint8Array): Root {
    if (this.timestamp) throw new TrustError('missingRole', 'root updates come before the timestamp');
    const envelope = envelopeOf(bytes, 'root');
    const next = parseRoot(envelope.signed);
    this.checkSigned(envelope, this.root.keys, this.root.roles.root, 'root (by the trusted root)');
    this.checkSigned(envelope, next.keys, next.roles.root, 'root (by itself)');
    if (next.version !== this.root.version + 1) {
      throw new TrustError(next.version <= this.root.version ? 'rollback' : 'versionMismatch', `root version ${next.version} after ${this.root.version}`);
    }
    (this as Accepted).root = next;
    return next;
  }

  /**
   * `trusted`: bytes from the device's own store (a baseline for rollback checks, may be expired).
   * Otherwise the root chain is complete here, so the root must not be expired either.
   */
  updateTimestamp(bytes: Uint8Array, trusted = false): Timestamp {
    if (this.snapshot) throw new TrustError('missingRole', 'the timestamp comes before the snapshot');
    if (!trusted) this.checkExpiry(this.root, 'root');
    const envelope = envelopeOf(bytes, 'timestamp');
    const next = parseTimestamp(envelope.signed);
    this.checkSigned(envelope, this.root.keys, this.root.roles.timestamp, 'timestamp');
    const current = this.timestamp;
    if (current) {
      if (next.version < current.version) throw new TrustError('rollback', `timestamp version ${next.version} below ${current.version}`);
      if (next.snapshot.version < current.snapshot.version)
        throw new TrustError('rollback', `timestamp names snapshot version ${next.snapshot.version}, below ${current.snapshot.version}`);
    }
    if (!trusted) this.checkExpiry(next, 'timestamp');
    (this as Accepted).timestamp = next;
    return next;
  }

  updateSnapshot(bytes: Uint8Array, trusted = false): Snapshot {
    const timestamp = this.timestamp;
    if (!timestamp) throw new TrustError('missingRole', 'the snapshot needs a timestamp');
    if (this._targets.size > 0) throw new TrustError('missingRole', 'the snapshot comes before targets');
    if (!trusted) this.checkMetaFile(bytes, timestamp.snapshot, 'snapshot');
    const envelope = envelopeOf(bytes, 'snapshot');
    const next = parseSnapshot(envelope.signed);
    this.checkSigned(envelope, this.root.keys, this.root.roles.snapshot, 'snapshot');
    const current = this.snapshot;
    if (current) {
      for (const [name, old] of current.meta) {
        const now = next.meta.get(name);
        if (!now) throw new TrustError('rollback', `snapshot drops ${name}`);
        if (now.version < old.version) throw new TrustError('rollback', `snapshot names ${name} version ${now.version}, below ${old.version}`);
      }
    }
    if (!trusted) {
      if (next.version !== timestamp.snapshot.version)
        throw new TrustError('versionMismatch', `snapshot version ${next.version}, the timestamp names ${timestamp.snapshot.version}`);
      this.checkExpiry(next, 'snapshot');
    }
    (this as Accepted).snapshot = next;
    return next;
  }

  updateTargets(bytes: Uint8Array): Targets {
    return this.updateTargetsRole(bytes, 'targets', this.root.keys, this.root.roles.targets);
  }

  /** A delegated targets role, verified with the keys its delegator lists for it. */
  updateDelegatedTargets(bytes: Uint8Array, role: string, delegator: string): Targets {
    const parent = this._targets.get(delegator);
    let delegation: DelegatedRole | undefined;
    for (const r of parent?.delegations?.roles ?? []) {
      if (r.name !== role) continue;
      delegation = r;
      break;
    }
    if (!parent || !delegation || !parent.delegations) throw new TrustError('missingRole', `${delegator} does not delegate to ${role}`);
    return this.updateTargetsRole(bytes, role, parent.delegations.keys, delegation);
  }

  private updateTargetsRole(bytes: Uint8Array, role: string, keys: Map<string, PublicKey>, roleKeys: RoleKeys): Targets {
    const snapshot = this.snapshot;
    if (!snapshot) throw new TrustError('missingRole', `${role} needs a snapshot`);
    const meta = snapshot.meta.get(role);
    if (!meta) throw new TrustError('unknownTarget', `the snapshot does not list ${role}`);
    this.checkMetaFile(bytes, meta, role);
    const envelope = envelopeOf(bytes, 'targets');
    const next = parseTargets(envelope.signed, role);
    this.checkSigned(envelope, keys, roleKeys, role);
    if (next.version !== meta.version) throw new TrustError('versionMismatch', `${role} version ${next.version}, the snapshot names ${meta.version}`);
    this.checkExpiry(next, role);
    this._targets.set(role, next);
    return next;
  }

  /** Where a path's signed entry is, walking delegations in order (pre-order, `terminating` stops). */
  findTarget(path: string): TargetLookup {
    const stack: { role: string; delegator?: string }[] = [{ role: 'targets' }];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const { role, delegator } = stack.pop()!;
      if (seen.has(role)) continue;
      if (seen.size >= MAX_DELEGATIONS) break;
      seen.add(role);
      const targets = this._targets.get(role);
      if (!targets) {
        if (delegator === undefined) throw new TrustError('missingRole', 'targets are not loaded');
        return { kind: 'need', role, delegator };
      }
      const found = targets.targets.get(path);
      if (found) return { kind: 'found', target: found, role };
      const children: { role: string; delegator: string }[] = [];
      for (const d of targets.delegations?.roles ?? []) {
        if (!delegates(d, path, this.crypto.sha256)) continue;
        children.push({ role: d.name, delegator: role });
        if (d.terminating) {
          stack.length = 0;
          break;
        }
      }
      stack.push(...children.reverse());
    }
    return { kind: 'none' };
  }

  /** At least `threshold` distinct listed keys made a valid signature over the canonical signed part. */
  private checkSigned(envelope: Envelope, keys: Map<string, PublicKey>, role: RoleKeys, name: string): void {
    const message = canonicalBytes(envelope.signed);
    const tried = new Set<string>();
    let valid = 0;
    for (const { keyid, sig } of envelope.signatures) {
      // Each listed key is tried once: repeated or unknown key ids cannot add work or count twice.
      if (tried.has(keyid) || !role.keyids.includes(keyid)) continue;
      tried.add(keyid);
      const key = keys.get(keyid);
      if (key && verifySignature(this.crypto.verify, key, message, sig)) valid++;
    }
    if (valid < role.threshold) throw new TrustError('badSignature', `${name}: ${valid} valid signature(s), threshold ${role.threshold}`);
  }

  private checkMetaFile(bytes: Uint8Array, meta: MetaFile, name: string): void {
    if (meta.length !== undefined && bytes.length !== meta.length) throw new TrustError('hashMismatch', `${name} is ${bytes.length} bytes, signed length ${meta.length}`);
    if (meta.sha256 !== undefined && toHex(this.crypto.sha256(bytes)) !== meta.sha256) throw new TrustError('hashMismatch', `${name} does not match its signed SHA-256`);
  }

  private checkExpiry(role: { expiresMs: number; type: string }, name: string): void {
    if (role.expiresMs <= this.nowMs) throw new TrustError('expired', `${name} expired ${new Date(role.expiresMs).toISOString()}`);
  }
}

/** What the updates write (read-only to everyone else). */
type Accepted = { root: Root; timestamp?: Timestamp; snapshot?: Snapshot };

function envelopeOf(bytes: Uint8Array, role: string): Envelope {
  return parseEnvelope(parseJson(bytes), role);
}

/** TUF path patterns: `*` and `?` never cross a `/`, and the segment counts must match. */
export function delegates(role: DelegatedRole, path: string, sha256: (bytes: Uint8Array) => Uint8Array): boolean {
  if (role.pathHashPrefixes) {
    const digest = toHex(sha256(utf8Encode(path)));
    for (const prefix of role.pathHashPrefixes) if (digest.startsWith(prefix)) return true;
    return false;
  }
  // Plain loops, not some/every callbacks: fewer functions in a QuickJS heap.
  const segments = path.split('/');
  for (const pattern of role.paths ?? []) {
    const parts = pattern.split('/');
    let match = parts.length === segments.length;
    for (let i = 0; match && i < parts.length; i++) match = globSegment(parts[i] as string, segments[i] as string);
    if (match) return true;
  }
  return false;
}

function globSegment(pattern: string, text: string): boolean {
  if (pattern.length > 256) return false;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(text);
}
