/**
 * The pipeline's signed-metadata gate, once for every family. Before a job downloads anything the
 * runner asks the gate to approve the artifact the family names (kind, name, version, the
 * manager's post-install command): the gate brings the family's TUF repository up to date
 * (`<metadata URL>/timestamp.json` …, length caps and deadlines, accepted roles persisted in the
 * store, the trusted clock advanced), looks the artifact up in the signed targets and checks
 * hardware, the anti-rollback minimum and the command (../trust/artifact.ts). What it hands back —
 * the signed length and SHA-256, the signed post-install command — replaces what the manager said:
 * the signed length caps the download and the signed digest is what the bytes are verified
 * against. At commit, `commitOps` raises the minimum in the same store batch as the family's
 * commit (a package's job success, an image's confirmed boot).
 *
 * With `trust.allowUnsigned` (an explicit, logged opt-out for tests and demos) the gate approves
 * nothing and the pipeline keeps the manager's facts, as before signed metadata.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { approveTarget, compareVersions, targetPath } from '../trust/artifact.ts';
import type { JsonValue } from '../trust/canonical-json.ts';
import type { TrustConfig } from '../trust/config.ts';
import { TrustError } from '../trust/errors.ts';
import { httpMetadataSource } from '../trust/http-source.ts';
import { type ArtifactKind, TrustState } from '../trust/state.ts';
import type { TrustedSet } from '../trust/trusted-set.ts';
import type { TargetDelta } from '../trust/target-deltas.ts';
import type { DeltaArtifact, HeldSource } from './delta-step.ts';
import { type MetadataSource, refreshMetadata, resolveTarget } from '../trust/updater.ts';
import type { TrustCrypto } from '../trust/verify.ts';

/** What a family says about the artifact a job will install (its targets path is derived from it). */
export interface TrustRequest {
  kind: ArtifactKind;
  /** Package name, or the model an image is built for. */
  name: string;
  version: string;
  /** A post-install command that came from the manager: it runs only if it is the signed one. */
  offeredPostInstall?: JsonValue;
  /** The version the device holds: a signed delta from it is picked (`TrustedArtifact.delta`). */
  held?: HeldSource;
}

/** The signed facts of an approved artifact, persisted with the job. */
export interface TrustedArtifact {
  kind: ArtifactKind;
  name: string;
  path: string;
  /** Signed length: the download stops there. */
  length: number;
  /** Signed SHA-256 (lower-case hex): the bytes are verified against it. */
  sha256: string;
  version?: string;
  /** The only post-install command that may run. */
  postInstall?: JsonValue;
  raisesMinimum: boolean;
  /** A signed patch from the version the device holds (`TrustRequest.held`), when the target lists one. */
  delta?: TargetDelta;
}

export interface TrustGate {
  /** False when the config opted out (`trust.allowUnsigned`). */
  readonly enforced: boolean;
  /** Drops the metadata fetched so far: the next approval refreshes it (a family calls this when it starts deciding). */
  invalidate(): void;
  /** The signed facts of the artifact, or undefined when unsigned installs are allowed. Throws `TrustError` when refused. */
  approve(request: TrustRequest): Promise<TrustedArtifact | undefined>;
  /** Store ops that raise the anti-rollback minimum, for the commit batch (none when nothing is raised). */
  commitOps(trusted: TrustedArtifact | undefined): StoreOp[];
}

export interface TrustGateOptions {
  config: TrustConfig;
  /** The signature verifier and SHA-256 the metadata is checked with (../trust/verify.ts); required unless `allowUnsigned`. */
  crypto?: TrustCrypto;
  device: Device;
  store: KeyValueStore;
  log: Logger;
  /** The family's repository id: its root and baseline are kept apart from other families'. */
  repository: string;
  /** The family's default metadata URL (`trust.metadataUrl` wins), asked at each refresh. */
  metadataUrl(): string | Promise<string>;
  /** The roaming reference counter (seconds), one of the trusted clock's sources. */
  referenceCounter?(): number | undefined;
  signal?(): AbortSignalLike;
}

export function createTrustGate(options: TrustGateOptions): TrustGate {
  const { config, device, log } = options;
  if (config.allowUnsigned) {
    let warned = false;
    return {
      enforced: false,
      invalidate() {},
      async approve(request) {
        if (!warned) log.warn('installing without signed metadata (trust.allowUnsigned)', { family: options.repository, name: request.name, version: request.version });
        warned = true;
        return undefined;
      },
      commitOps: () => [],
    };
  }
  const crypto = options.crypto;
  if (!crypto) throw new TypeError('createTrustGate: a signature verifier (crypto) is required to enforce signed metadata');
  const state = new TrustState(options.store, { repository: options.repository });
  let current: { set: TrustedSet; source: MetadataSource } | undefined;

  const refresh = async () => {
    await state.provision(config.root);
    const url = config.metadataUrl ?? (await options.metadataUrl());
    const source = httpMetadataSource({
      http: device.net.http,
      baseUrl: url,
      timeoutMs: config.requestTimeoutMs,
      deadlineMs: config.requestDeadlineMs,
      ...(options.signal ? { signal: options.signal() } : {}),
    });
    const counter = options.referenceCounter?.();
    const set = await refreshMetadata(state, source, { rtcMs: device.clock.utcMs(), ...(counter !== undefined ? { referenceCounter: counter } : {}) }, crypto);
    log.info('signed metadata verified', { family: options.repository, timestamp: set.timestamp?.version, targets: set.targets()?.version });
    return { set, source };
  };

  return {
    enforced: true,
    invalidate() {
      current = undefined;
    },
    async approve(request) {
      current ??= await refresh();
      const path = targetPath(request.kind, request.name, request.version);
      const target = await resolveTarget(current.set, current.source, path);
      const hardware = (await device.system.identity()).model;
      const approved = approveTarget(target, path, {
        hardware,
        ...(state.minimum(request.kind, request.name) !== undefined ? { minimumVersion: state.minimum(request.kind, request.name) } : {}),
        ...(request.offeredPostInstall !== undefined ? { offeredPostInstall: request.offeredPostInstall } : {}),
      });
      const signed = target!; // approveTarget refused an unknown target
      const delta = request.held ? pickSignedDelta(signed.custom.deltas ?? [], request.held) : undefined;
      return {
        kind: request.kind,
        name: request.name,
        path,
        length: signed.length,
        sha256: signed.sha256,
        ...(approved.version !== undefined ? { version: approved.version } : {}),
        ...(approved.postInstall !== undefined ? { postInstall: approved.postInstall } : {}),
        raisesMinimum: approved.raisesMinimum && comparable(approved.version),
        ...(delta ? { delta } : {}),
      };
    },
    commitOps(trusted) {
      if (!trusted?.raisesMinimum || trusted.version === undefined) return [];
      return state.raiseMinimumOps(trusted.kind, trusted.name, trusted.version);
    },
  };
}

/**
 * The signed delta for what the device holds: one whose source digest is the one the device
 * recorded, else one from the version it runs (listed order: the release's preference). The delta
 * step still hashes the bytes the device actually holds before fetching the patch; a mismatch
 * there falls back to the full artifact.
 */
export function pickSignedDelta(deltas: readonly TargetDelta[], held: HeldSource): TargetDelta | undefined {
  return (held.sha256 !== undefined ? deltas.find((d) => d.sourceSha256 === held.sha256) : undefined) ?? deltas.find((d) => held.version !== undefined && d.from === held.version);
}

/** The pipeline's delta artifact for a signed delta (the patch found next to the artifact). */
export function signedDeltaArtifact(delta: TargetDelta): DeltaArtifact {
  return { format: delta.format, sourceVersion: delta.from, sourceSize: delta.sourceLength, sourceSha256: delta.sourceSha256, size: delta.length, sha256: delta.sha256, path: delta.path };
}

/**
 * Only dotted numeric versions become a minimum: a minimum the comparison cannot read would
 * refuse every later version of that artifact (a device that refuses all updates).
 */
function comparable(version: string | undefined): boolean {
  if (version === undefined) return false;
  try {
    compareVersions(version, version);
    return true;
  } catch (error) {
    if (error instanceof TrustError) return false;
    throw error;
  }
}

/** The code a family's report carries for a refusal: `trust:<TrustCode>` (e.g. `trust:downgrade`). */
export function trustFailureCode(error: TrustError): string {
  return `trust:${error.code}`;
}

export const isTrustFailure = (code: string | undefined): boolean => code?.startsWith('trust:') === true;

/**
 * What the bytes of a job must be, for any stage that produces or checks them (a delta's result
 * is verified against this, not against the delta): the signed length and SHA-256 once the gate
 * approved the job, else (unsigned installs allowed) the manager's.
 */
export function expectedArtifact(job: { artifact: { size: number; digest: string }; trusted?: TrustedArtifact }): { length: number; sha256: string; signed: boolean } {
  if (job.trusted) return { length: job.trusted.length, sha256: job.trusted.sha256, signed: true };
  return { length: job.artifact.size, sha256: job.artifact.digest.toLowerCase(), signed: false };
}
