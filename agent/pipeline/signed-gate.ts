/**
 * The enforcing trust gate (see ./trust-gate.ts for what a gate does): brings the family's TUF
 * repository up to date (`<metadata URL>/timestamp.json` …, length caps and deadlines, accepted
 * roles persisted in the store, the trusted clock advanced), looks the artifact up in the signed
 * targets and checks hardware, the anti-rollback minimum and the command (../trust/artifact.ts).
 * Part of the signed-metadata chunk (../trust/signed.ts): loaded only with a root of trust.
 */
import { approveTarget, compareVersions, targetPath } from '../trust/artifact.ts';
import type { SignedTrustConfig } from '../trust/config.ts';
import { TrustError } from '../trust/errors.ts';
import { httpMetadataSource } from '../trust/http-source.ts';
import { TrustState } from '../trust/state.ts';
import type { TrustedSet } from '../trust/trusted-set.ts';
import { type MetadataSource, refreshMetadata, resolveTarget } from '../trust/updater.ts';
import type { TrustCrypto } from '../trust/verify.ts';
import { type TrustGate, type TrustGateOptions, pickSignedDelta } from './trust-gate.ts';

export interface SignedTrustGateOptions extends TrustGateOptions {
  config: SignedTrustConfig;
  /** The signature verifier and SHA-256 the metadata is checked with (../trust/verify.ts). */
  crypto: TrustCrypto;
}

export function createSignedTrustGate(options: SignedTrustGateOptions): TrustGate {
  const { config, crypto, device, log } = options;
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

