/**
 * What a family may install: an artifact is accepted only when a signed targets entry names it and
 * everything about it matches — length, SHA-256, hardware, and the anti-rollback minimum. The
 * post-install command handed back is the signed one; a command from anywhere else is refused.
 * Pure functions: the caller measured the bytes (streaming SHA-256 in the pipeline) and reads the
 * minimum from the persisted trust state.
 */
import { TrustError } from './errors.ts';
import type { TargetFile } from './metadata.ts';
import { canonicalize, type JsonValue } from './canonical-json.ts';

export interface ArtifactFacts {
  /** Bytes received. */
  length: number;
  /** SHA-256 of those bytes, lowercase hex. */
  sha256: string;
}

export interface InstallContext {
  /** The board id the hardware compatibility list must name. */
  hardware: string;
  /** Persisted minimum version for this package or image (undefined: none yet). */
  minimumVersion?: string;
  /** A post-install command that arrived outside the signed metadata (e.g. from the manager). */
  offeredPostInstall?: JsonValue;
}

export interface Approved {
  path: string;
  version?: string;
  /** The only post-install command to run (from signed metadata), if any. */
  postInstall?: JsonValue;
  /** Whether installing raises the security counter (commit it with `raiseMinimum`). */
  raisesMinimum: boolean;
}

/** Checks before download: the entry exists, is for this hardware, is not a refused downgrade. */
export function approveTarget(target: TargetFile | undefined, path: string, context: InstallContext): Approved {
  if (!target) throw new TrustError('unknownTarget', `${path} is not in the signed targets`);
  const { custom } = target;
  if (custom.hardware && !custom.hardware.includes(context.hardware)) throw new TrustError('hardware', `${path} is not signed for this hardware`);
  if (context.offeredPostInstall !== undefined && (custom.postInstall === undefined || canonicalize(context.offeredPostInstall) !== canonicalize(custom.postInstall)))
    throw new TrustError('unsignedCommand', `${path}: the offered post-install command is not the signed one`);
  let raisesMinimum = false;
  if (custom.version !== undefined) {
    const min = context.minimumVersion;
    const order = min === undefined ? 1 : compareVersions(custom.version, min);
    if (order < 0 && custom.allowDowngrade !== true) throw new TrustError('downgrade', `${path} version ${custom.version} is below the minimum ${min}`);
    raisesMinimum = order > 0;
  } else if (context.minimumVersion !== undefined) {
    throw new TrustError('downgrade', `${path} has no signed version, and a minimum ${context.minimumVersion} is set`);
  }
  const approved: Approved = { path, raisesMinimum };
  if (custom.version !== undefined) approved.version = custom.version;
  if (custom.postInstall !== undefined) approved.postInstall = custom.postInstall;
  return approved;
}

/** Checks after download: the bytes are exactly the signed ones. */
export function checkArtifact(target: TargetFile, facts: ArtifactFacts): void {
  if (facts.length !== target.length) throw new TrustError('lengthMismatch', `${target.path} is ${facts.length} bytes, signed length ${target.length}`);
  if (facts.sha256.toLowerCase() !== target.sha256) throw new TrustError('digestMismatch', `${target.path} does not match its signed SHA-256`);
}

/**
 * Where a package or an image is named in targets metadata: the release tooling writes these
 * paths and families look them up with the same function.
 */
export function targetPath(kind: 'package' | 'image', name: string, version: string): string {
  return `${kind === 'package' ? 'packages' : 'images'}/${name}/${version}`;
}

const VERSION = /^\d{1,15}(\.\d{1,15}){0,7}$/;

/** Dotted numeric versions (`1.10.0` > `1.9.3`; missing parts are 0). Anything else is `badVersion`. */
export function compareVersions(a: string, b: string): number {
  if (!VERSION.test(a)) throw new TrustError('badVersion', `version ${JSON.stringify(a.slice(0, 40))} is not dotted numbers`);
  if (!VERSION.test(b)) throw new TrustError('badVersion', `version ${JSON.stringify(b.slice(0, 40))} is not dotted numbers`);
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
