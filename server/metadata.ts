/**
 * Signed update metadata on the publishing side: key files, the metadata directory, and the
 * snapshot/timestamp refresh the servers do. Release keys (root, targets) stay with whoever signs
 * releases (`dm-agent keys`, `dm-agent release sign`); a server only ever holds the snapshot and
 * timestamp keys, so taking over a server does not let anyone sign a package (the TUF split of
 * "who may release" from "who serves").
 *
 * A metadata directory holds `N.root.json` (every root version, for the chain), `root.json` (the
 * newest), `targets.json`, `snapshot.json`, `timestamp.json`; all of it is public.
 */
import { mkdir, open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJson } from '../agent/trust/canonical-json.ts';
import { TrustError } from '../agent/trust/errors.ts';
import type { KeyKind } from '../agent/trust/keys.ts';
import { type SigningKey, signingKeyFrom } from '../agent/trust/signing.ts';
import { parseEnvelope, parseSnapshot, parseTargets, parseTimestamp } from '../agent/trust/metadata.ts';
import { envelopeBytes, signEnvelope, snapshotSigned, timestampSigned, type TargetSpec } from '../agent/trust/repository.ts';
import { compareVersions, targetPath } from '../agent/trust/artifact.ts';
import type { JsonValue } from '../agent/trust/canonical-json.ts';
import type { Fleet } from './fleet.ts';
import type { ManifestImage } from './updates/manifest.ts';
import { fromHex, toHex } from '../agent/util/bytes.ts';
import type { TargetDelta } from '../agent/trust/target-deltas.ts';
import type { DeltaFile, DeltaMaker } from './deltas.ts';

export const KEY_FILE_SUFFIX = '.key.json';

/** A metadata file name a server may serve: no paths, only the role files above. */
export const METADATA_FILE = /^(?:[1-9][0-9]{0,9}\.)?(?:root|targets|snapshot|timestamp)\.json$/;

// ───────────────────────────── key files ─────────────────────────────

/** Writes a new secret key file (mode 0600, never overwriting) and returns the key. */
export async function writeNewKey(file: string, kind: KeyKind, secret: Uint8Array): Promise<SigningKey> {
  const key = signingKeyFrom(kind, secret);
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ kind, keyid: key.keyid, public: key.public, secret: toHex(secret) }, null, 1)}\n`);
  } finally {
    await handle.close();
  }
  return key;
}

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/** Reads a key file; the message of a failure never contains the secret. */
export async function readKey(file: string): Promise<SigningKey> {
  let json: { kind?: unknown; secret?: unknown };
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as typeof json;
  } catch (error) {
    throw new KeyFileError(`${file}: cannot read the key: ${(error as NodeJS.ErrnoException).code ?? 'not JSON'}`);
  }
  if ((json.kind !== 'ed25519' && json.kind !== 'ecdsa-p256') || typeof json.secret !== 'string' || !/^[0-9a-f]{64}$/.test(json.secret))
    throw new KeyFileError(`${file}: not a dm-agent key file`);
  try {
    return signingKeyFrom(json.kind, fromHex(json.secret));
  } catch {
    throw new KeyFileError(`${file}: not a valid ${json.kind} secret key`);
  }
}

// ───────────────────────────── what a release signs ─────────────────────────────

/** Every package version of a fleet: `packages/<name>/<version>`, with its version and post-install command. */
export function fleetTargets(fleet: Fleet): TargetSpec[] {
  const out: TargetSpec[] = [];
  for (const versions of fleet.catalogue.values())
    for (const entry of versions.values())
      out.push({ path: targetPath('package', entry.name, entry.version), length: entry.size, sha256: entry.digest, custom: { version: entry.version, postInstall: entry.postInstall as unknown as JsonValue } });
  return out;
}

/** Every image of an import folder: `images/<model>/<version>`, for that model's hardware only. */
export function imageTargets(images: readonly ManifestImage[]): TargetSpec[] {
  return images.map((image) => ({ path: targetPath('image', image.model, image.version), length: image.size, sha256: image.sha256, custom: { version: image.version, hardware: [image.model] } }));
}

/**
 * Signed delta offers for image targets (`custom.deltas`, agent/trust/target-deltas.ts): for each
 * image, a patch from every other version of the same model (made by `maker` with the real
 * xdelta3/bsdiff, cached in its folder), named `<prefix><patch sha256>` relative to the image's
 * URL. The prefix is where the server that hands out the images serves patches, seen from an
 * image: `deltas/` for the DM server (`/fumo/deltas/<sha256>` next to `/fumo/<package>`),
 * `../deltas/` for the update service (`/deltas/<sha256>` next to `/images/<sha256>`).
 */
export async function withImageDeltas(targets: TargetSpec[], images: readonly ManifestImage[], maker: DeltaMaker, prefix = 'deltas/'): Promise<TargetSpec[]> {
  const out: TargetSpec[] = [];
  for (const spec of targets) {
    const image = images.find((i) => targetPath('image', i.model, i.version) === spec.path);
    const deltas: TargetDelta[] = [];
    for (const source of image ? images.filter((i) => i.model === image.model && i.sha256 !== image.sha256 && older(i.version, image.version)) : []) {
      const made = await maker.delta(source, image!);
      if (made) deltas.push(targetDelta(made, { version: source.version, size: source.size, sha256: source.sha256 }, `${prefix}${made.sha256}`));
    }
    out.push(deltas.length > 0 ? { ...spec, custom: { ...spec.custom, deltas } } : spec);
  }
  return out;
}

/** Patches go from older versions to newer ones (labels the comparison cannot read: any way). */
function older(a: string, b: string): boolean {
  try {
    return compareVersions(a, b) < 0;
  } catch {
    return true;
  }
}

/** The signed entry of a patch made from `source` (what `custom.deltas` lists). */
export function targetDelta(made: DeltaFile, source: { version: string; size: number; sha256: string }, path: string): TargetDelta {
  return { from: source.version, sourceLength: source.size, sourceSha256: source.sha256, format: made.format, length: made.size, sha256: made.sha256, path };
}

// ───────────────────────────── the metadata directory ─────────────────────────────

async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
}

export async function readMaybe(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The highest `N.root.json` in the directory (0 when none). */
export async function latestRootVersion(dir: string): Promise<number> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return Math.max(0, ...names.map((n) => /^([1-9][0-9]*)\.root\.json$/.exec(n)?.[1]).filter((v): v is string => v !== undefined).map(Number));
}

export async function writeRoot(dir: string, version: number, bytes: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, `${version}.root.json`), bytes);
  await writeAtomic(join(dir, 'root.json'), bytes);
}

export async function writeTargets(dir: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, 'targets.json'), bytes);
}

function versionOf(bytes: Uint8Array | undefined, parse: (signed: { [key: string]: import('../agent/trust/canonical-json.ts').JsonValue }) => { version: number }): number {
  if (!bytes) return 0;
  return parse(parseEnvelope(parseJson(bytes), 'metadata').signed).version;
}

export async function targetsVersion(dir: string): Promise<number> {
  return versionOf(await readMaybe(join(dir, 'targets.json')), (s) => parseTargets(s, 'targets'));
}

export interface RefreshKeys {
  snapshot: SigningKey;
  timestamp: SigningKey;
}

/**
 * Re-signs snapshot (when targets changed) and timestamp (always, one version up) so devices see
 * fresh metadata; `expiresMs` for each. Returns the new timestamp version.
 */
export async function refreshSnapshotAndTimestamp(dir: string, keys: RefreshKeys, nowMs: number, lifetimes = { snapshotMs: 7 * 86_400_000, timestampMs: 86_400_000 }): Promise<number> {
  const targets = await readMaybe(join(dir, 'targets.json'));
  if (!targets) throw new TrustError('missingRole', `${dir} has no targets.json: sign a release first`);
  const targetsV = versionOf(targets, (s) => parseTargets(s, 'targets'));
  const oldSnapshot = await readMaybe(join(dir, 'snapshot.json'));
  let snapshot = oldSnapshot;
  let snapshotV = versionOf(oldSnapshot, parseSnapshot);
  const listed = oldSnapshot ? parseSnapshot(parseEnvelope(parseJson(oldSnapshot), 'snapshot').signed).meta.get('targets')?.version : undefined;
  if (!snapshot || listed !== targetsV || parseSnapshot(parseEnvelope(parseJson(snapshot), 'snapshot').signed).expiresMs < nowMs + lifetimes.timestampMs) {
    snapshotV++;
    snapshot = envelopeBytes(signEnvelope(snapshotSigned(snapshotV, nowMs + lifetimes.snapshotMs, { targets: { version: targetsV, bytes: targets } }), [keys.snapshot]));
    await writeAtomic(join(dir, 'snapshot.json'), snapshot);
  }
  const timestampV = versionOf(await readMaybe(join(dir, 'timestamp.json')), parseTimestamp) + 1;
  await writeAtomic(join(dir, 'timestamp.json'), envelopeBytes(signEnvelope(timestampSigned(timestampV, nowMs + lifetimes.timestampMs, { version: snapshotV, bytes: snapshot }), [keys.timestamp])));
  return timestampV;
}

/** Bytes of a served metadata file, or undefined (unknown name or absent). */
export async function readMetadataFile(dir: string, name: string): Promise<Uint8Array | undefined> {
  if (!METADATA_FILE.test(name)) return undefined;
  return readMaybe(join(dir, name));
}

/**
 * GET|HEAD /metadata/<file>: public (the signatures protect it, not the transport), never cached
 * long (a device must see a fresh timestamp), 404 for anything but a role file.
 */
export async function serveMetadata(dir: string, request: { method: string }, name: string): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  const json = (status: number, code: string, message: string) => ({
    status, headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode(JSON.stringify({ error: { code, message } })),
  });
  if (request.method !== 'GET' && request.method !== 'HEAD') return { ...json(405, 'methodNotAllowed', 'use GET or HEAD'), headers: { 'content-type': 'application/json', allow: 'GET, HEAD' } };
  const bytes = await readMetadataFile(dir, name);
  if (!bytes) return json(404, 'notFound', `no metadata file ${name.slice(0, 64)}`);
  const headers = { 'content-type': 'application/json', 'content-length': String(bytes.length), 'cache-control': 'no-cache' };
  return { status: 200, headers, body: request.method === 'HEAD' ? new Uint8Array() : bytes };
}

// ───────────────────────────── the server's refresh ─────────────────────────────

export interface MetadataRefresher {
  /** Re-signs now when targets changed or the timestamp expires within `marginMs`; returns the timestamp version when it did. */
  check(): Promise<number | undefined>;
  stop(): void;
}

/**
 * Keeps a served metadata directory fresh with the server's online keys: snapshot/timestamp are
 * re-signed at start, whenever `targets.json` changed (a release was signed into the directory:
 * devices see it at their next poll, not hours later) and before the timestamp expires (a device
 * never sees a frozen repository because of the server). Checks every `intervalMs`.
 */
export async function startMetadataRefresher(
  dir: string,
  keysDir: string,
  options: { onRefresh?: (timestampVersion: number) => void; onError?: (error: unknown) => void; intervalMs?: number; marginMs?: number; now?: () => number } = {},
): Promise<MetadataRefresher> {
  const keys = { snapshot: await readKey(join(keysDir, `snapshot${KEY_FILE_SUFFIX}`)), timestamp: await readKey(join(keysDir, `timestamp${KEY_FILE_SUFFIX}`)) };
  const now = options.now ?? Date.now;
  const marginMs = options.marginMs ?? 12 * 3600_000;
  let signedTargets: Uint8Array | undefined;
  const check = async (force = false): Promise<number | undefined> => {
    const targets = await readMaybe(join(dir, 'targets.json'));
    const timestamp = await readMaybe(join(dir, 'timestamp.json'));
    const expiresMs = timestamp ? parseTimestamp(parseEnvelope(parseJson(timestamp), 'timestamp').signed).expiresMs : 0;
    const changed = targets !== undefined && (signedTargets === undefined || toHex(targets) !== toHex(signedTargets));
    if (!force && !changed && expiresMs - now() > marginMs) return undefined;
    const version = await refreshSnapshotAndTimestamp(dir, keys, now());
    signedTargets = targets;
    options.onRefresh?.(version);
    return version;
  };
  await check(true);
  const timer = setInterval(() => void check().catch((error: unknown) => options.onError?.(error)), options.intervalMs ?? 60_000);
  timer.unref();
  return { check: () => check(), stop: () => clearInterval(timer) };
}
