/**
 * Message schemas built on demand. The combinators of ./schema.ts allocate closures, option
 * objects and field lists per node: the whole pull-model protocol's schemas held 75 KB of a
 * QuickJS board's heap for the agent's life (the firmware protocol's 35 KB), while an agent checks
 * a few messages per cycle. So a schema is built when a message is first checked, and then:
 *  - kept for the next check (the default: Node boards and the reference servers, where heap is
 *    plentiful and rebuilding would cost ~20 µs per message, thousands of times per second in
 *    the fleet simulation), or
 *  - dropped after each check (`retainSchemas(false)`, which `createAgent` sets for a QuickJS
 *    board): QuickJS frees it (reference counting) as soon as the check returns, and building it
 *    costs microseconds next to the message's network exchange.
 *
 * `build` must return a fresh, self-contained schema: nested schemas come from the same builders
 * (called inside `build`), never from another on-demand wrapper, so an array of items checks
 * every item against one schema built once per message.
 */
import type { Schema } from './schema.ts';

let retain = true;

/** Process-wide: keep built schemas (true, the default) or build one per check (false). */
export function retainSchemas(keep: boolean): void {
  retain = keep;
}

export function onDemand<T>(build: () => Schema<T>): Schema<T> {
  let built: Schema<T> | undefined;
  return {
    parse(value, path) {
      if (!retain) {
        built = undefined; // one kept before the switch is let go
        return build().parse(value, path);
      }
      return (built ??= build()).parse(value, path);
    },
  };
}
