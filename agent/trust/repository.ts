/**
 * The publishing side of the TUF model: builds and signs role documents. Pure (no IO, no clock),
 * shared by `dm-agent release sign`, the reference servers (timestamp and snapshot refresh) and
 * the tests. The output is plain TUF 1.0 metadata that tuf-js and python-tuf read.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8Encode } from '../util/bytes.ts';
import { canonicalBytes, type JsonValue } from './canonical-json.ts';
import type { KeyJson } from './keys.ts';
import { type SigningKey, sign } from './signing.ts';
import type { RoleName, TargetCustom } from './metadata.ts';
import { targetDeltaJson } from './target-deltas.ts';

export const SPEC_VERSION = '1.0.31';

export type Signed = { [key: string]: JsonValue };
export interface SignedEnvelope {
  signatures: { keyid: string; sig: string }[];
  signed: Signed;
}

/** TUF's expiry format: ISO 8601 UTC without fractions. */
export function expiresText(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function signEnvelope(signed: Signed, keys: readonly SigningKey[]): SignedEnvelope {
  const message = canonicalBytes(signed);
  return { signatures: keys.map((key) => ({ keyid: key.keyid, sig: sign(key, message) })), signed };
}

/** The bytes to publish: indented JSON (readable; verification is over the canonical form anyway). */
export function envelopeBytes(envelope: SignedEnvelope): Uint8Array {
  return utf8Encode(`${JSON.stringify(envelope, null, 1)}\n`);
}

export interface RootSpec {
  version: number;
  expiresMs: number;
  /** Public keys per role (key id → key as metadata lists it). */
  roles: Record<RoleName, { keys: { keyid: string; public: KeyJson }[]; threshold: number }>;
  consistentSnapshot?: boolean;
}

export function rootSigned(spec: RootSpec): Signed {
  const keys: Signed = {};
  const roles: Signed = {};
  for (const name of Object.keys(spec.roles) as RoleName[]) {
    const role = spec.roles[name];
    for (const key of role.keys) keys[key.keyid] = key.public as unknown as JsonValue;
    roles[name] = { keyids: role.keys.map((k) => k.keyid), threshold: role.threshold };
  }
  return {
    _type: 'root', spec_version: SPEC_VERSION, version: spec.version, expires: expiresText(spec.expiresMs),
    consistent_snapshot: spec.consistentSnapshot ?? false, keys, roles,
  };
}

export interface TargetSpec {
  path: string;
  length: number;
  sha256: string;
  custom?: TargetCustom;
}

export function targetsSigned(version: number, expiresMs: number, targets: readonly TargetSpec[], delegations?: Signed): Signed {
  const entries: Signed = {};
  for (const t of targets) {
    const entry: Signed = { length: t.length, hashes: { sha256: t.sha256 } };
    if (t.custom && Object.keys(t.custom).length > 0) entry.custom = customJson(t.custom);
    entries[t.path] = entry;
  }
  const signed: Signed = { _type: 'targets', spec_version: SPEC_VERSION, version, expires: expiresText(expiresMs), targets: entries };
  if (delegations) signed.delegations = delegations;
  return signed;
}

/** A target's custom fields as the metadata carries them (a delta's patch digest under `hashes`, like a target's). */
function customJson(custom: TargetCustom): JsonValue {
  const { deltas, ...rest } = custom;
  return { ...(rest as { [key: string]: JsonValue }), ...(deltas ? { deltas: deltas.map(targetDeltaJson) } : {}) };
}

/** `files`: role name → its published bytes and version (length and hash are listed too). */
export function snapshotSigned(version: number, expiresMs: number, files: Record<string, { version: number; bytes: Uint8Array }>): Signed {
  const meta: Signed = {};
  for (const name of Object.keys(files)) meta[`${name}.json`] = metaEntry(files[name]!.version, files[name]!.bytes);
  return { _type: 'snapshot', spec_version: SPEC_VERSION, version, expires: expiresText(expiresMs), meta };
}

export function timestampSigned(version: number, expiresMs: number, snapshot: { version: number; bytes: Uint8Array }): Signed {
  return {
    _type: 'timestamp', spec_version: SPEC_VERSION, version, expires: expiresText(expiresMs),
    meta: { 'snapshot.json': metaEntry(snapshot.version, snapshot.bytes) },
  };
}

function metaEntry(version: number, bytes: Uint8Array): Signed {
  return { version, length: bytes.length, hashes: { sha256: toHex(sha256(bytes)) } };
}
