/**
 * A message schema built each time a message is checked, and dropped after. The combinators of
 * ./schema.ts allocate closures, option objects and field lists per node; the whole pull-model
 * protocol's schemas held 75 KB of a QuickJS board's heap for the agent's life (the firmware
 * protocol's 35 KB), while an agent checks a few messages per cycle. Building one message's
 * schema costs microseconds next to its network exchange, and QuickJS frees it (reference
 * counting) as soon as the check returns.
 *
 * `build` must return a fresh, self-contained schema: nested schemas come from the same builders
 * (called inside `build`), never from another on-demand wrapper, so an array of items checks
 * every item against one schema built once per message.
 */
import type { Schema } from './schema.ts';

export function onDemand<T>(build: () => Schema<T>): Schema<T> {
  return { parse: (value, path) => build().parse(value, path) };
}
