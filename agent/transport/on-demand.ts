/**
 * Message schemas built on demand (`onDemand`, `retainSchemas`) live in ./schema.ts, next to the
 * combinators: one module, so a board's heap holds one chunk for both (every chunk costs a QuickJS
 * heap ~1 KB). Re-exported here for the modules that import them from this path.
 */
export { onDemand, retainSchemas } from './schema.ts';
