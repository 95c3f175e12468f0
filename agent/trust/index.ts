/** Trust: signed update metadata (TUF model), anti-rollback, trusted time. See ./trusted-set.ts. */
export { TrustError, isTrustError, type TrustCode } from './errors.ts';
export { parseJson, canonicalize, canonicalBytes, METADATA_LIMITS, type JsonValue, type JsonLimits } from './canonical-json.ts';
export { parseKey, verifySignature, schemeOf, type PublicKey, type KeyJson, type KeyKind } from './keys.ts';
export { keyIdOf, signingKeyFrom, sign, type SigningKey } from './signing.ts';
export { loadVerifier, type SignatureVerifier, type TrustCrypto, type VerifierKind } from './verify.ts';
export type { Root, Targets, Snapshot, Timestamp, TargetFile, TargetCustom, RoleName, DelegatedRole } from './metadata.ts';
export { TrustedSet, type TargetLookup } from './trusted-set.ts';
export { approveTarget, checkArtifact, compareVersions, targetPath, type Approved, type ArtifactFacts, type InstallContext } from './artifact.ts';
export { TrustState, trustedTime, TRUST_PREFIX, type ArtifactKind, type ClockSources } from './state.ts';
export { refreshMetadata, resolveTarget, DEFAULT_REFRESH_LIMITS, type MetadataSource, type RefreshLimits } from './updater.ts';
export { parseTrustConfig, trustConfigSchema, type SignedTrustConfig, type TrustConfig } from './config.ts';
export { verifyTrustRoot } from './signed.ts';
export { httpMetadataSource, MetadataFetchError, type HttpSourceOptions } from './http-source.ts';
