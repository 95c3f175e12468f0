/**
 * The signed-metadata half of the agent (TUF: the metadata parser, the trusted set, the updater,
 * the persisted trust state and the enforcing gate), one chunk the agent imports at start only
 * when the config has a root of trust: a board configured with `trust.allowUnsigned` never loads it.
 * At start the agent checks the root against its own keys (`verifyTrustRoot`, which parses it
 * too); the updater, the state and the HTTP source first run at the first metadata refresh, but a
 * signed cycle always refreshes, so splitting them off again would not lower a cycle's peak.
 */
import type { Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import { type AgentConfig, ConfigError } from '../config-base.ts';
import type { TrustGate, TrustGateOptions } from '../pipeline/trust-gate.ts';
import { createSignedTrustGate } from '../pipeline/signed-gate.ts';
import { SchemaError } from '../transport/schema.ts';
import type { SignedTrustConfig, TrustConfig } from './config.ts';
import { TrustError } from './errors.ts';
import { TrustedSet } from './trusted-set.ts';
import { type TrustCrypto, type VerifierKind, loadVerifier } from './verify.ts';

export { loadVerifier, createSignedTrustGate };

/** What the agent keeps of the signed trust: who verifies, and how a family gets its gate. */
export interface SignedTrust {
  kind: VerifierKind;
  gate(options: TrustGateOptions): TrustGate;
}

/**
 * The agent's start with a root of trust (agent/index.ts imports this chunk only then): the HAL's
 * verifier or the JS one, and the configured root checked against its own keys before the device
 * is touched (a bad root is a ConfigError).
 */
export async function loadSignedTrust(device: Device, config: AgentConfig & { trust: SignedTrustConfig }, engines: Engines): Promise<SignedTrust> {
  const trust = config.trust;
  const { kind, verify } = await loadVerifier(device.signatures, config.engine);
  const crypto: TrustCrypto = { verify, sha256: (bytes) => engines.hash('sha256', bytes) };
  try {
    verifyTrustRoot(trust, crypto);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  return { kind, gate: (options) => createSignedTrustGate({ ...options, config: trust, crypto }) };
}

/** Parses the configured root and checks it against its own keys (not its expiry: a newer root may follow). */
export function verifyTrustRoot(config: TrustConfig, crypto: TrustCrypto, path = 'trust'): void {
  if (config.allowUnsigned) return;
  try {
    new TrustedSet(config.root, 0, crypto);
  } catch (error) {
    if (error instanceof TrustError) throw new SchemaError(`${path}.root`, `not a valid root: ${error.message}`);
    throw error;
  }
}
