/**
 * The agent config's `trust` section: the root of trust every installing family verifies against.
 *
 *   "trust": { "root": { "signatures": […], "signed": { "_type": "root", … } } }   the shipped root (or its JSON text)
 *   "trust": { "root": …, "metadataUrl": "https://…/metadata/" }                  one repository for every family
 *   "trust": { "allowUnsigned": true }                                            explicit opt-out (tests, demos): logged
 *
 * `dm-agent run` also reads `"rootFile": "<path>"` (relative to the config file) into `root`.
 * Parsing the section checks only that a root is given (an object or its JSON text): the metadata
 * parser is part of the signed-metadata chunk (./signed.ts), which a board that installs unsigned
 * never loads. The agent parses the root and checks its signatures (against its own keys) when it
 * starts (`verifyTrustRoot`), once it has a signature verifier (./verify.ts: the HAL's, or the JS
 * chunk); so a config with a broken root is refused at start, not at the first update.
 */
import { SchemaError, boolean, httpUrl, integer, object, optional } from '../transport/schema.ts';
import { utf8Encode } from '../util/bytes.ts';
import { onDemand } from '../transport/on-demand.ts';

/** Built per check (a QuickJS board drops it after: ../transport/on-demand.ts), not held for the agent's life. */
export const trustConfigSchema = onDemand(() =>
  object(
    {
      /** The JSON object of a root envelope, or its text: checked below. */
      root: optional<unknown>({ parse: (value) => value }),
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
  ),
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
  const shape = typeof parsed.root === 'object' && parsed.root !== null && !Array.isArray(parsed.root);
  if (typeof parsed.root !== 'string' && !shape) throw new SchemaError(`${path}.root`, 'expected the root metadata: a JSON object or its text');
  const root = utf8Encode(typeof parsed.root === 'string' ? parsed.root : JSON.stringify(parsed.root));
  const timeout = parsed.requestTimeoutMs ?? 30_000;
  return {
    allowUnsigned: false,
    root,
    ...(parsed.metadataUrl !== undefined ? { metadataUrl: parsed.metadataUrl } : {}),
    requestTimeoutMs: timeout,
    requestDeadlineMs: parsed.requestDeadlineMs ?? Math.max(2 * 60_000, timeout),
  };
}

/** A config that enforces signed metadata. */
export type SignedTrustConfig = Extract<TrustConfig, { allowUnsigned: false }>;
