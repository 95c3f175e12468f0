/**
 * The TUF metadata model: one envelope (`signatures` + `signed`) and the four roles, read from a
 * parsed JSON value into typed objects, strictly (a wrong type is `malformed`, never a default).
 * Unknown fields are kept in the signed value (they are signed over) but not interpreted, as the
 * specification asks. The custom fields dm-agent reads from a target are documented on
 * `TargetCustom`.
 */
import { hasOwn } from '../util/own.ts';
import type { JsonValue } from './canonical-json.ts';
import { TrustError } from './errors.ts';
import { type PublicKey, parseKey } from './keys.ts';
import { type TargetDelta, parseTargetDeltas } from './target-deltas.ts';

export type RoleName = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const TOP_ROLES: readonly RoleName[] = ['root', 'timestamp', 'snapshot', 'targets'];

export interface Signature {
  keyid: string;
  sig: string;
}

export interface Envelope {
  signatures: Signature[];
  /** The signed part as parsed: what the signatures cover (in canonical form). */
  signed: { [key: string]: JsonValue };
}

export interface Common {
  type: string;
  version: number;
  /** Expiry, UTC milliseconds. */
  expiresMs: number;
}

export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

export interface Root extends Common {
  keys: Map<string, PublicKey>;
  roles: Record<RoleName, RoleKeys>;
  consistentSnapshot: boolean;
}

export interface MetaFile {
  version: number;
  length?: number;
  sha256?: string;
}

export interface Timestamp extends Common {
  snapshot: MetaFile;
}

export interface Snapshot extends Common {
  /** By role name (`targets`, delegated names), without the `.json`. */
  meta: Map<string, MetaFile>;
}

/**
 * dm-agent's custom fields of a target (all optional in the file; a family decides which it needs):
 *  - `version`: the artifact's version (dotted numbers), compared with the anti-rollback minimum;
 *  - `hardware`: board ids the artifact is for (absent: any);
 *  - `postInstall`: the only post-install command a device will run for it (any JSON: a family's
 *    command object, e.g. `{command, args, timeoutMs}` for the pull-model packages);
 *  - `allowDowngrade`: the release explicitly allows going below the persisted minimum;
 *  - `deltas`: signed patches from older versions to this one (./target-deltas.ts).
 */
export interface TargetCustom {
  version?: string;
  hardware?: string[];
  postInstall?: JsonValue;
  allowDowngrade?: boolean;
  deltas?: TargetDelta[];
}

export interface TargetFile {
  path: string;
  length: number;
  sha256: string;
  custom: TargetCustom;
}

export interface DelegatedRole extends RoleKeys {
  name: string;
  /** Glob patterns (`*` within one path segment); absent with `pathHashPrefixes`. */
  paths?: string[];
  pathHashPrefixes?: string[];
  terminating: boolean;
}

export interface Targets extends Common {
  targets: Map<string, TargetFile>;
  delegations?: { keys: Map<string, PublicKey>; roles: DelegatedRole[] };
}

// ───────────────────────────── readers ─────────────────────────────

type Obj = { [key: string]: JsonValue };

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TrustError('malformed', `${where} is not an object`);
  return v as Obj;
}

function field(o: Obj, key: string): JsonValue | undefined {
  return hasOwn(o, key) ? o[key] : undefined;
}

function str(o: Obj, key: string, where: string): string {
  const v = field(o, key);
  if (typeof v !== 'string') throw new TrustError('malformed', `${where}.${key} is not a string`);
  return v;
}

function int(o: Obj, key: string, where: string, min: number): number {
  const v = field(o, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new TrustError('malformed', `${where}.${key} is not an integer ≥ ${min}`);
  return v;
}

function strings(v: unknown, where: string): string[] {
  let ok = Array.isArray(v);
  for (let i = 0; ok && i < (v as unknown[]).length; i++) ok = typeof (v as unknown[])[i] === 'string';
  if (!ok) throw new TrustError('malformed', `${where} is not a list of strings`);
  return v as string[];
}

const EXPIRES = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;

export function parseExpires(text: string, where: string): number {
  const m = EXPIRES.exec(text);
  const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
  if (!m || !Number.isFinite(ms) || +m[2]! < 1 || +m[2]! > 12 || +m[3]! > 31 || +m[4]! > 23 || +m[5]! > 59 || +m[6]! > 60)
    throw new TrustError('malformed', `${where}.expires is not an ISO 8601 UTC time`);
  return ms;
}

export function parseEnvelope(value: JsonValue, where: string): Envelope {
  const o = obj(value, where);
  const signed = obj(field(o, 'signed'), `${where}.signed`);
  const list = field(o, 'signatures');
  if (!Array.isArray(list)) throw new TrustError('malformed', `${where}.signatures is not a list`);
  // Plain loops here and below, not map callbacks: fewer functions in a QuickJS heap.
  const signatures: Signature[] = [];
  for (let i = 0; i < list.length; i++) {
    const at = `${where}.signatures[${i}]`;
    const so = obj(list[i], at);
    signatures.push({ keyid: str(so, 'keyid', at), sig: str(so, 'sig', at) });
  }
  return { signatures, signed };
}

function common(signed: Obj, type: string, where: string): Common {
  const actual = str(signed, '_type', where);
  if (actual !== type) throw new TrustError('wrongRole', `${where} is ${JSON.stringify(actual.slice(0, 20))}, expected ${type}`);
  const spec = str(signed, 'spec_version', where);
  if (!/^1\.\d+(\.\d+)?$/.test(spec)) throw new TrustError('malformed', `${where}.spec_version ${JSON.stringify(spec.slice(0, 20))} is not 1.x`);
  return { type, version: int(signed, 'version', where, 1), expiresMs: parseExpires(str(signed, 'expires', where), where) };
}

function keyMap(v: unknown, where: string): Map<string, PublicKey> {
  const o = obj(v, where);
  const keys = new Map<string, PublicKey>();
  for (const id of Object.keys(o)) keys.set(id, parseKey(o[id], `${where}[${id.slice(0, 16)}]`));
  return keys;
}

function roleKeys(o: Obj, where: string, keys: Map<string, PublicKey>): RoleKeys {
  const keyids = strings(field(o, 'keyids'), `${where}.keyids`);
  if (new Set(keyids).size !== keyids.length) throw new TrustError('malformed', `${where}.keyids has duplicates`);
  for (const id of keyids) if (!keys.has(id)) throw new TrustError('malformed', `${where} names key ${id.slice(0, 16)} that is not listed`);
  return { keyids, threshold: int(o, 'threshold', where, 1) };
}

export function parseRoot(signed: Obj): Root {
  const base = common(signed, 'root', 'root');
  const keys = keyMap(field(signed, 'keys'), 'root.keys');
  const rolesObj = obj(field(signed, 'roles'), 'root.roles');
  const roles = {} as Record<RoleName, RoleKeys>;
  for (const name of TOP_ROLES) roles[name] = roleKeys(obj(field(rolesObj, name), `root.roles.${name}`), `root.roles.${name}`, keys);
  const cs = field(signed, 'consistent_snapshot');
  if (cs !== undefined && typeof cs !== 'boolean') throw new TrustError('malformed', 'root.consistent_snapshot is not a boolean');
  return { ...base, keys, roles, consistentSnapshot: cs === true };
}

function metaFile(v: unknown, where: string): MetaFile {
  const o = obj(v, where);
  const out: MetaFile = { version: int(o, 'version', where, 1) };
  if (hasOwn(o, 'length')) out.length = int(o, 'length', where, 0);
  if (hasOwn(o, 'hashes')) out.sha256 = sha256Of(field(o, 'hashes'), where);
  return out;
}

function sha256Of(v: unknown, where: string): string {
  const hashes = obj(v, `${where}.hashes`);
  const h = field(hashes, 'sha256');
  if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) throw new TrustError('malformed', `${where}.hashes.sha256 is not 64 lowercase hex digits`);
  return h;
}

export function parseTimestamp(signed: Obj): Timestamp {
  const base = common(signed, 'timestamp', 'timestamp');
  const meta = obj(field(signed, 'meta'), 'timestamp.meta');
  if (!hasOwn(meta, 'snapshot.json')) throw new TrustError('malformed', 'timestamp.meta has no snapshot.json');
  return { ...base, snapshot: metaFile(meta['snapshot.json'], 'timestamp.meta["snapshot.json"]') };
}

export function parseSnapshot(signed: Obj): Snapshot {
  const base = common(signed, 'snapshot', 'snapshot');
  const metaObj = obj(field(signed, 'meta'), 'snapshot.meta');
  const meta = new Map<string, MetaFile>();
  for (const name of Object.keys(metaObj)) {
    if (!name.endsWith('.json')) throw new TrustError('malformed', `snapshot.meta entry ${JSON.stringify(name.slice(0, 40))} is not a .json role`);
    meta.set(name.slice(0, -5), metaFile(metaObj[name], `snapshot.meta[${JSON.stringify(name.slice(0, 40))}]`));
  }
  if (!meta.has('targets')) throw new TrustError('malformed', 'snapshot.meta has no targets.json');
  return { ...base, meta };
}

function custom(v: unknown, where: string): TargetCustom {
  if (v === undefined) return {};
  const o = obj(v, where);
  const out: TargetCustom = {};
  if (hasOwn(o, 'version')) out.version = str(o, 'version', where);
  if (hasOwn(o, 'hardware')) out.hardware = strings(field(o, 'hardware'), `${where}.hardware`);
  if (hasOwn(o, 'postInstall')) out.postInstall = field(o, 'postInstall') as JsonValue;
  if (hasOwn(o, 'allowDowngrade')) {
    const allow = field(o, 'allowDowngrade');
    if (typeof allow !== 'boolean') throw new TrustError('malformed', `${where}.allowDowngrade is not a boolean`);
    out.allowDowngrade = allow;
  }
  if (hasOwn(o, 'deltas')) out.deltas = parseTargetDeltas(field(o, 'deltas'), `${where}.deltas`);
  return out;
}

export function parseTargets(signed: Obj, role: string): Targets {
  const base = common(signed, 'targets', role);
  const list = obj(field(signed, 'targets'), `${role}.targets`);
  const targets = new Map<string, TargetFile>();
  for (const path of Object.keys(list)) {
    const where = `${role}.targets[${JSON.stringify(path.slice(0, 60))}]`;
    const t = obj(list[path], where);
    targets.set(path, { path, length: int(t, 'length', where, 0), sha256: sha256Of(field(t, 'hashes'), where), custom: custom(field(t, 'custom'), `${where}.custom`) });
  }
  const out: Targets = { ...base, targets };
  const d = field(signed, 'delegations');
  if (d !== undefined) {
    const dObj = obj(d, `${role}.delegations`);
    const keys = keyMap(field(dObj, 'keys'), `${role}.delegations.keys`);
    const rolesList = field(dObj, 'roles');
    if (!Array.isArray(rolesList)) throw new TrustError('malformed', `${role}.delegations.roles is not a list`);
    const roles: DelegatedRole[] = [];
    const names = new Set<string>();
    for (let i = 0; i < rolesList.length; i++) {
      const delegated = delegatedRole(rolesList[i], `${role}.delegations.roles[${i}]`, keys);
      roles.push(delegated);
      names.add(delegated.name);
    }
    if (names.size !== roles.length) throw new TrustError('malformed', `${role}.delegations names a role twice`);
    out.delegations = { keys, roles };
  }
  return out;
}

function delegatedRole(v: unknown, where: string, keys: Map<string, PublicKey>): DelegatedRole {
  const o = obj(v, where);
  const name = str(o, 'name', where);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || TOP_ROLES.includes(name as RoleName)) throw new TrustError('malformed', `${where}.name is not a usable role name`);
  const out: DelegatedRole = { name, ...roleKeys(o, where, keys), terminating: field(o, 'terminating') === true };
  const paths = field(o, 'paths');
  const prefixes = field(o, 'path_hash_prefixes');
  if ((paths === undefined) === (prefixes === undefined)) throw new TrustError('malformed', `${where} needs exactly one of paths and path_hash_prefixes`);
  if (paths !== undefined) out.paths = strings(paths, `${where}.paths`);
  else out.pathHashPrefixes = strings(prefixes, `${where}.path_hash_prefixes`);
  return out;
}
