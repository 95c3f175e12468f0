/**
 * The agent's configuration file (`dm-agent run --config <file>`): which families run and how.
 * One section per family, named after it (./families/registry.ts); each family validates its own
 * section strictly with readable paths and fills in its defaults.
 */
import type { DeliveryConfig } from './delivery/config.ts';
import { FAMILIES } from './families/registry.ts';
import type { FirmwareConfig } from './firmware/config.ts';
import { parsePushConfig, type PushConfig } from './push/config.ts';
import { SchemaError, array, object, oneOf, optional, string, type Infer, type Schema } from './transport/schema.ts';
import { type TrustConfig, parseTrustConfig } from './trust/config.ts';

/** A family section passes through here; the family's own schema checks it. */
const section: Schema<unknown> = { parse: (value) => value };

const baseShape = {
  engine: optional(oneOf(['auto', 'wasm', 'js'] as const)),
  logLevel: optional(oneOf(['debug', 'info', 'warn', 'error'] as const)),
  /** User profiles the agent manages besides the device itself (seed 004 targets). */
  users: optional(array(string({ min: 1, max: 120, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' }), { max: 63 })),
  /** The root of trust for signed updates (./trust/config.ts); required with any protocol section. */
  trust: optional(section),
  /** The MQTT push channel (agent/push/config.ts): wake-ups and OMA DM package #0. */
  push: optional(section),
};

export const agentConfigSchema = object({ ...baseShape, ...Object.fromEntries(FAMILIES.map((family) => [family.name, optional(section)])) }, { strict: true });

export interface AgentConfig {
  engine: 'auto' | 'wasm' | 'js';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  users: string[];
  delivery?: DeliveryConfig;
  firmware?: FirmwareConfig;
  /** Present whenever a protocol section is (every family installs something). */
  trust?: TrustConfig;
  push?: PushConfig;
}

export class ConfigError extends Error {
  readonly code = 'badConfig';
  constructor(message: string) {
    super(`invalid agent config: ${message}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(input: unknown): AgentConfig {
  let parsed: Infer<ReturnType<typeof object<typeof baseShape>>> & Record<string, unknown>;
  try {
    parsed = agentConfigSchema.parse(input) as typeof parsed;
  } catch (error) {
    if (error instanceof SchemaError) throw new ConfigError(error.message);
    throw error;
  }
  const config: AgentConfig & Record<string, unknown> = { engine: parsed.engine ?? 'auto', logLevel: parsed.logLevel ?? 'info', users: parsed.users ?? [] };
  if (parsed.trust !== undefined) config.trust = guarded(() => parseTrustConfig(parsed.trust));
  if (parsed.push !== undefined) config.push = guarded(() => parsePushConfig(parsed.push));
  for (const family of FAMILIES) {
    if (parsed[family.name] === undefined) continue;
    try {
      config[family.name] = family.parseConfig(parsed[family.name] as never);
    } catch (error) {
      throw new ConfigError(error instanceof Error ? error.message : String(error));
    }
  }
  // The mission: only signed updates. Every family installs something, so each needs the root of
  // trust; unsigned installs need the explicit (logged) opt-out.
  if (config.trust === undefined && protocolSections(config).length > 0)
    throw new ConfigError('trust: missing: the root of trust for signed updates ("trust": {"root": …} or "rootFile"), or "trust": {"allowUnsigned": true}');
  return config;
}

function guarded<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The protocol sections a config turns on. An agent without any has nothing to do, so
 * `dm-agent run` refuses such a config before it creates anything on disk.
 */
export function protocolSections(config: AgentConfig): string[] {
  return FAMILIES.map((family) => family.name).filter((name) => (config as unknown as Record<string, unknown>)[name] !== undefined);
}
