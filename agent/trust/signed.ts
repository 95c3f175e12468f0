/**
 * The signed-metadata half of the agent (TUF: the metadata parser, the trusted set, the updater,
 * the persisted trust state and the enforcing gate), one chunk the agent imports at start only
 * when the config has a root of trust: a board configured with `trust.allowUnsigned` never loads it.
 * At start the agent checks the root against its own keys (`verifyTrustRoot`, which parses it
 * too); the updater, the state and the HTTP source first run at the first metadata refresh, but a
 * signed cycle always refreshes, so splitting them off again would not lower a cycle's peak.
 */
import { SchemaError } from '../transport/schema.ts';
import type { TrustConfig } from './config.ts';
import { TrustError } from './errors.ts';
import { TrustedSet } from './trusted-set.ts';
import type { TrustCrypto } from './verify.ts';

export { loadVerifier } from './verify.ts';
export { createSignedTrustGate } from '../pipeline/signed-gate.ts';

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
