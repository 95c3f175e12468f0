/**
 * The agent config's `trust` section: the root of trust every installing family verifies against.
 *
 *   "trust": { "root": { "signatures": […], "signed": { "_type": "root", … } } }   the shipped root (or its JSON text)
 *   "trust": { "root": …, "metadataUrl": "https://…/metadata/" }                  one repository for every family
 *   "trust": { "allowUnsigned": true }                                            explicit opt-out (tests, demos): logged
 *
 * `dm-agent run` also reads `"rootFile": "<path>"` (relative to the config file) into `root`.
 * The root's shape is checked here, its signatures (against its own keys) by `verifyTrustRoot` when
 * the agent starts, once it has a signature verifier (./verify.ts: the HAL's, or the JS chunk); so
 * a config with a broken root is refused at start, not at the first update.
 */
import { SchemaError, boolean, httpUrl, integer, object, optional, type Schema } from '../transport/schema.ts';
import { utf8Encode } from '../util/bytes.ts';
import { parseJson } from './canonical-json.ts';
import { TrustError } from './errors.ts';
import { parseEnvelope, parseRoot } from './metadata.ts';
import { TrustedSet } from './trusted-set.ts';
import type { TrustCrypto } from './verify.ts';

/** The JSON object of a root envelope, or its text: checked below. */
const anyValue: Schema<unknown> = { parse: (value) => value };

export const trustConfigSchema = object(
  {
    root: optional(anyValue),
    /** Overrides each family's default metadata location (`<manager>/metadata/`). */
    metadataUrl: optional(httpUrl()),
    /** Installs without signed metadata (the manager's digest only). Logged at start and per install. */
    allowUnsigned: optional(boolean()),
    /** Idle bound of one metadata request. */
    requestTimeoutMs: optional(integer({ min: 100 })),
    /** Whole-request bound of one metadata file (slow retrieval). */
    requestDeadlineMs: optional(integer({ min: 100 })),
  },
  { strict: true },
);

export type TrustConfig =
  | { allowUnsigned: true }
  | { allowUnsigned: false; root: Uint8Array; metadataUrl?: string; requestTimeoutMs: number; requestDeadlineMs: number };

export function parseTrustConfig(input: unknown, path = 'trust'): TrustConfig {
  const parsed = trustConfigSchema.parse(input, path);
  if (parsed.allowUnsigned === true) {
    if (parsed.root !== undefined) throw new SchemaError(`${path}.allowUnsigned`, 'give either a root of trust or allowUnsigned, not both');
    return { allowUnsigned: true };
  }
  if (parsed.root === undefined) throw new SchemaError(`${path}.root`, 'missing: the initial root metadata (or "allowUnsigned": true to install unsigned updates)');
  const root = typeof parsed.root === 'string' ? utf8Encode(parsed.root) : utf8Encode(JSON.stringify(parsed.root));
  asRootError(path, () => parseRoot(parseEnvelope(parseJson(root), 'root').signed));
  const timeout = parsed.requestTimeoutMs ?? 30_000;
  return {
    allowUnsigned: false,
    root,
    ...(parsed.metadataUrl !== undefined ? { metadataUrl: parsed.metadataUrl } : {}),
    requestTimeoutMs: timeout,
    requestDeadlineMs: parsed.requestDeadlineMs ?? Math.max(2 * 60_000, timeout),
  };
}

/** Checks the configured root against its own keys (not its expiry: a newer root may follow). */
export function verifyTrustRoot(config: TrustConfig, crypto: TrustCrypto, path = 'trust'): void {
  if (!config.allowUnsigned) asRootError(path, () => new TrustedSet(config.root, 0, crypto));
}

function asRootError(path: string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (error instanceof TrustError) throw new SchemaError(`${path}.root`, `not a valid root: ${error.message}`);
    throw error;
  }
}
