/**
 * The part of the agent config every board loads: the top-level keys, the ConfigError, and
 * `loadConfig`, which `createAgent` uses. Each section (trust, push, one per family) is checked
 * by its own module, imported only when the config has that section: a board running one family
 * never holds the other families' schemas in its heap. `parseConfig` (./config.ts) does the same
 * checks synchronously, with every section's module imported statically (the CLI, tests).
 */
import type { DeliveryConfig } from './delivery/config.ts';
import { FAMILIES, type FamilyName } from './families/registry.ts';
import type { FirmwareConfig } from './firmware/config.ts';
import type { PushConfig } from './push/config.ts';
import { SchemaError, array, object, oneOf, optional, string, type Schema } from './transport/schema.ts';
import type { TrustConfig } from './trust/config.ts';
import { loadOnce } from './util/load-once.ts';
import { onDemand } from './transport/schema.ts';

/** A section passes through here; its own module checks it. */
const section: Schema<unknown> = { parse: (value) => value };

/** The top-level keys, checked once per config: built per check, so an agent's heap does not keep it. */
export const agentConfigSchema = onDemand(() =>
  object(
    {
      engine: optional(oneOf(['auto', 'wasm', 'js'] as const)),
      logLevel: optional(oneOf(['debug', 'info', 'warn', 'error'] as const)),
      /** User profiles the agent manages besides the device itself (seed 004 targets). */
      users: optional(array(string({ min: 1, max: 120, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' }), { max: 63 })),
      /** The root of trust for signed updates (./trust/config.ts); required with any protocol section. */
      trust: optional(section),
      /** The MQTT push channel (agent/push/config.ts): wake-ups and OMA DM package #0. */
      push: optional(section),
      ...Object.fromEntries(FAMILIES.map((family) => [family.name, optional(section)])),
    },
    { strict: true },
  ),
);

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
  // Declared and set in the constructor, not a class field: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'badConfig';
  constructor(message: string) {
    super(`invalid agent config: ${message}`);
    this.code = 'badConfig';
    this.name = 'ConfigError';
  }
}

/** The sections a module of their own checks, in the order they are checked (so the first error reported stays the same). */
export type SectionName = 'trust' | 'push' | FamilyName;
/** Checks and completes one section; throws a message naming the bad field. */
export type SectionParser = (input: unknown) => unknown;
type Parsed = Pick<Partial<AgentConfig>, 'engine' | 'logLevel' | 'users'> & Record<string, unknown>;

const SERVICE_SECTIONS: Record<'trust' | 'push', () => Promise<SectionParser>> = {
  trust: loadOnce(async () => (await import('./trust/config.ts')).parseTrustConfig as SectionParser),
  push: loadOnce(async () => (await import('./push/config.ts')).parsePushConfig as SectionParser),
};

/** `configInput` checked and completed; imports the module of each section present (and no other). */
export async function loadConfig(input: unknown): Promise<AgentConfig> {
  const parsed = parseTopLevel(input);
  const parsers = new Map<SectionName, SectionParser>();
  for (const name of sectionsIn(parsed)) parsers.set(name, await (name === 'trust' || name === 'push' ? SERVICE_SECTIONS[name]() : FAMILIES.find((family) => family.name === name)!.config()));
  return completeConfig(parsed, (name) => parsers.get(name)!);
}

/** The top-level keys checked (unknown keys, engine, logLevel, users); sections left for their modules. */
export function parseTopLevel(input: unknown): Parsed {
  try {
    return agentConfigSchema.parse(input) as Parsed;
  } catch (error) {
    if (error instanceof SchemaError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The sections present, in the order they are checked; `services`: trust and push too, not only the families'. */
function sectionsIn(parsed: object, services = true): SectionName[] {
  return ([...(services ? ['trust', 'push'] : []), ...FAMILIES.map((family) => family.name)] as SectionName[]).filter((name) => (parsed as Record<string, unknown>)[name] !== undefined);
}

/** The config with every present section checked by `parserOf(name)`, in a fixed order; any failure is a ConfigError. */
export function completeConfig(parsed: Parsed, parserOf: (name: SectionName) => SectionParser): AgentConfig {
  const config: AgentConfig = { engine: parsed.engine ?? 'auto', logLevel: parsed.logLevel ?? 'info', users: parsed.users ?? [] };
  for (const name of sectionsIn(parsed)) {
    try {
      (config as unknown as Record<string, unknown>)[name] = parserOf(name)(parsed[name]);
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

/**
 * The protocol sections a config turns on. An agent without any has nothing to do, so
 * `dm-agent run` refuses such a config before it creates anything on disk.
 */
export function protocolSections(config: AgentConfig): string[] {
  return sectionsIn(config, false);
}
