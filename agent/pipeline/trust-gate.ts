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
 *
 * This module is what every family links against (the gate's types, the unsigned gate, the small
 * helpers); the enforcing gate is ./signed-gate.ts, in the signed-metadata chunk
 * (../trust/signed.ts) that the agent loads only when the config has a root of trust.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import type { JsonValue } from '../trust/canonical-json.ts';
import type { TrustError } from '../trust/errors.ts';
// TrustError in the core, with the gate: every family's pipeline loads it, and as a module of its
// own (a class, 120 B of code) it cost every cycle a module record in a QuickJS heap.
import '../trust/errors.ts';
import type { ArtifactKind } from '../trust/state.ts';
import type { TargetDelta } from '../trust/target-deltas.ts';
import type { DeltaArtifact, HeldSource } from './delta-step.ts';

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

/** What the agent gives each family's gate (the enforcing one also gets the config and the crypto: ./signed-gate.ts). */
export interface TrustGateOptions {
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

/** The gate of `trust.allowUnsigned`: approves nothing (the manager's facts stand), warns once per family. */
export function unsignedTrustGate(log: Logger, repository: string): TrustGate {
  let warned = false;
  return {
    enforced: false,
    invalidate: nothing,
    async approve(request) {
      if (!warned) log.warn('installing without signed metadata (trust.allowUnsigned)', { family: repository, name: request.name, version: request.version });
      warned = true;
      return undefined;
    },
    commitOps: nothing,
  };
}

/** Nothing to drop, no ops to commit: one function for both. */
const nothing = (): StoreOp[] => [];

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
