/**
 * The agent's configuration file (`dm-agent run --config <file>`): which families run and how.
 * Validated strictly with readable paths; defaults filled in one place.
 */
import { type DeliveryConfig, deliveryConfigSchema, resolveDeliveryConfig } from './delivery/config.ts';
import { SchemaError, array, object, oneOf, optional, string, type Infer } from './transport/schema.ts';

export const agentConfigSchema = object(
  {
    engine: optional(oneOf(['auto', 'wasm', 'js'] as const)),
    logLevel: optional(oneOf(['debug', 'info', 'warn', 'error'] as const)),
    /** User profiles the agent manages besides the device itself (seed 004 targets). */
    users: optional(array(string({ min: 1, max: 120, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' }), { max: 63 })),
    delivery: optional(deliveryConfigSchema),
  },
  { strict: true },
);

export interface AgentConfig {
  engine: 'auto' | 'wasm' | 'js';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  users: string[];
  delivery?: DeliveryConfig;
}

export class ConfigError extends Error {
  readonly code = 'badConfig';
  constructor(message: string) {
    super(`invalid agent config: ${message}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(input: unknown): AgentConfig {
  let parsed: Infer<typeof agentConfigSchema>;
  try {
    parsed = agentConfigSchema.parse(input);
  } catch (error) {
    if (error instanceof SchemaError) throw new ConfigError(error.message);
    throw error;
  }
  try {
    return {
      engine: parsed.engine ?? 'auto',
      logLevel: parsed.logLevel ?? 'info',
      users: parsed.users ?? [],
      ...(parsed.delivery ? { delivery: resolveDeliveryConfig(parsed.delivery) } : {}),
    };
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The protocol sections a config turns on. An agent without any has nothing to do, so
 * `dm-agent run` refuses such a config before it creates anything on disk.
 */
export function protocolSections(config: AgentConfig): string[] {
  return ['delivery'].filter((name) => (config as unknown as Record<string, unknown>)[name] !== undefined);
}
