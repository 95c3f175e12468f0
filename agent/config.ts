/**
 * The agent's configuration file (`dm-agent run --config <file>`): which families run and how.
 * One section per family, named after it (./families/registry.ts); each family validates its own
 * section strictly with readable paths and fills in its defaults.
 *
 * `parseConfig` checks a config synchronously with every section's module imported (the CLI and
 * tools, which run on Node); the agent itself uses `loadConfig` (./config-base.ts), which imports
 * only the modules of the sections present, with the same checks, order and messages.
 */
import { type SectionName, type SectionParser, completeConfig, parseTopLevel, type AgentConfig } from './config-base.ts';
import { parseDeliveryConfig } from './delivery/config.ts';
import { parseFirmwareConfig } from './firmware/config.ts';
import { parseOmaDmConfig } from './omadm/config.ts';
import { parsePushConfig } from './push/config.ts';
import { parseTrustConfig } from './trust/config.ts';

/** Every section's parser (the type makes a new family's entry required here). */
const PARSERS: Record<SectionName, SectionParser> = {
  trust: (input) => parseTrustConfig(input),
  push: parsePushConfig,
  delivery: parseDeliveryConfig,
  firmware: parseFirmwareConfig,
  omadm: parseOmaDmConfig,
};

export function parseConfig(input: unknown): AgentConfig {
  return completeConfig(parseTopLevel(input), (name) => PARSERS[name]);
}

export { type AgentConfig, ConfigError, agentConfigSchema, loadConfig, protocolSections } from './config-base.ts';
