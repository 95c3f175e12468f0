/**
 * The TUF client workflow (specification §5) around the IO-free `TrustedSet`: fetch through an
 * injected source, hand the bytes to the set, persist what it accepted. Fetching bounds (length
 * caps against endless data, a deadline against slow retrieval) belong to the source; every
 * verification decision stays in the set.
 */
import { TrustError } from './errors.ts';
import type { Root, TargetFile } from './metadata.ts';
import { type ClockSources, TrustState } from './state.ts';
import { TrustedSet } from './trusted-set.ts';
import type { TrustCrypto } from './verify.ts';

export interface MetadataSource {
  /**
   * The bytes of one metadata file (`timestamp.json`, `3.root.json`, …); undefined when the
   * server has no such file (404). Must stop at `maxBytes` (a TrustError `tooLarge`, or any error)
   * and give up after its own deadline.
   */
  fetch(file: string, maxBytes: number): Promise<Uint8Array | undefined>;
}

export interface RefreshLimits {
  rootBytes: number;
  timestampBytes: number;
  /** Used when the referring role does not name a length. */
  snapshotBytes: number;
  targetsBytes: number;
  /** Root versions followed in one refresh (a server cannot keep the device rotating forever). */
  maxRootRotations: number;
}

export const DEFAULT_REFRESH_LIMITS: RefreshLimits = {
  rootBytes: 512 * 1024,
  timestampBytes: 16 * 1024,
  snapshotBytes: 2 * 1024 * 1024,
  targetsBytes: 8 * 1024 * 1024,
  maxRootRotations: 32,
};

/** Brings the trusted metadata up to date; returns the set to look targets up in. */
export async function refreshMetadata(
  state: TrustState,
  source: MetadataSource,
  clock: ClockSources,
  crypto: TrustCrypto,
  limits: RefreshLimits = DEFAULT_REFRESH_LIMITS,
): Promise<TrustedSet> {
  const rootBytes = state.rootBytes();
  if (!rootBytes) throw new TrustError('missingRole', 'no trusted root provisioned');
  const now = state.now(clock);
  const set = new TrustedSet(rootBytes, now, crypto);

  for (let i = 0; i < limits.maxRootRotations; i++) {
    const bytes = await source.fetch(`${set.root.version + 1}.root.json`, limits.rootBytes);
    if (!bytes) break;
    const before = set.root;
    set.updateRoot(bytes);
    await state.saveRoot(bytes, keysChanged(before, set.root));
  }

  loadBaseline(set, state, 'timestamp');
  const timestampBytes = await required(source, 'timestamp.json', limits.timestampBytes);
  const timestamp = set.updateTimestamp(timestampBytes);
  await state.saveRole('timestamp', timestampBytes);

  loadBaseline(set, state, 'snapshot');
  const snapshotFile = set.root.consistentSnapshot ? `${timestamp.snapshot.version}.snapshot.json` : 'snapshot.json';
  const snapshotBytes = await required(source, snapshotFile, timestamp.snapshot.length ?? limits.snapshotBytes);
  const snapshot = set.updateSnapshot(snapshotBytes);
  await state.saveRole('snapshot', snapshotBytes);

  const targetsMeta = snapshot.meta.get('targets')!;
  const targetsFile = set.root.consistentSnapshot ? `${targetsMeta.version}.targets.json` : 'targets.json';
  const targetsBytes = await required(source, targetsFile, targetsMeta.length ?? limits.targetsBytes);
  set.updateTargets(targetsBytes);
  await state.saveRole('targets', targetsBytes);

  await state.advanceClock(now);
  return set;
}

/** The signed entry for `path`, fetching delegated targets roles as the lookup needs them. */
export async function resolveTarget(set: TrustedSet, source: MetadataSource, path: string, limits: RefreshLimits = DEFAULT_REFRESH_LIMITS): Promise<TargetFile | undefined> {
  for (let fetched = 0; fetched <= 32; fetched++) {
    const lookup = set.findTarget(path);
    if (lookup.kind === 'found') return lookup.target;
    if (lookup.kind === 'none') return undefined;
    const meta = set.snapshot?.meta.get(lookup.role);
    if (!meta) return undefined; // a delegation the snapshot does not list cannot be trusted
    const file = set.root.consistentSnapshot ? `${meta.version}.${lookup.role}.json` : `${lookup.role}.json`;
    const bytes = await required(source, file, meta.length ?? limits.targetsBytes);
    set.updateDelegatedTargets(bytes, lookup.role, lookup.delegator);
  }
  return undefined;
}

async function required(source: MetadataSource, file: string, maxBytes: number): Promise<Uint8Array> {
  const bytes = await source.fetch(file, maxBytes);
  if (!bytes) throw new TrustError('missingRole', `the server has no ${file}`);
  if (bytes.length > maxBytes) throw new TrustError('tooLarge', `${file} is over ${maxBytes} bytes`);
  return bytes;
}

/** A stored baseline that no longer verifies (keys rotated) is simply not a baseline. */
function loadBaseline(set: TrustedSet, state: TrustState, role: 'timestamp' | 'snapshot'): void {
  const bytes = state.role(role);
  if (!bytes) return;
  try {
    if (role === 'timestamp') set.updateTimestamp(bytes, true);
    else set.updateSnapshot(bytes, true);
  } catch (error) {
    if (!(error instanceof TrustError)) throw error;
  }
}

function keysChanged(before: Root, after: Root): boolean {
  return !sameKeys(before.roles.timestamp.keyids, after.roles.timestamp.keyids) || !sameKeys(before.roles.snapshot.keyids, after.roles.snapshot.keyids);
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (const id of a) if (!b.includes(id)) return false;
  return true;
}
