/**
 * Small validation combinators for wire messages and config files. A schema both checks a
 * decoded value and gives it a TypeScript type (`Infer<typeof schema>`), so the agent and the
 * reference server share one definition per message. Every bound (string length, array size)
 * is explicit: a malformed or oversized message is refused before anything acts on it.
 * Unknown object keys are dropped (forward compatibility) unless `strict` is set (config files,
 * where a typo must not go unnoticed).
 */
import { hasOwn, ownValue, setOwn } from '../util/own.ts';

export class SchemaError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'badMessage';
  /** Path of the offending value, e.g. `packages[3].digest`. */
  declare readonly path: string;
  constructor(path: string, message: string) {
    super(`${path || '(root)'}: ${message}`);
    this.code = 'badMessage';
    this.path = path;
    this.name = 'SchemaError';
  }
}

export interface Schema<T> {
  parse(value: unknown, path?: string): T;
  /** Marks the schema optional inside an object. */
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : value instanceof Uint8Array ? 'bytes' : typeof value;

export function string(options: { min?: number; max: number; pattern?: RegExp; label?: string }): Schema<string> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'string') throw new SchemaError(path, `expected a string, got ${describe(value)}`);
      if (value.length < (options.min ?? 0)) throw new SchemaError(path, `shorter than ${options.min}`);
      if (value.length > options.max) throw new SchemaError(path, `longer than ${options.max} characters`);
      if (options.pattern && !options.pattern.test(value)) throw new SchemaError(path, `not ${options.label ?? `matching ${options.pattern}`}`);
      return value;
    },
  };
}

export function integer(options: { min?: number; max?: number } = {}): Schema<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return {
    parse(value, path = '') {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new SchemaError(path, `expected an integer, got ${describe(value)}`);
      if (value < min || value > max) throw new SchemaError(path, `${value} outside ${min}..${max}`);
      return value;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'boolean') throw new SchemaError(path, `expected a boolean, got ${describe(value)}`);
      return value;
    },
  };
}

export function bytes(options: { max: number }): Schema<Uint8Array> {
  return {
    parse(value, path = '') {
      if (!(value instanceof Uint8Array)) throw new SchemaError(path, `expected bytes, got ${describe(value)}`);
      if (value.length > options.max) throw new SchemaError(path, `more than ${options.max} bytes`);
      return value;
    },
  };
}

export function literal<const T extends string | number | boolean>(expected: T): Schema<T> {
  return {
    parse(value, path = '') {
      if (value !== expected) throw new SchemaError(path, `expected ${JSON.stringify(expected)}, got ${JSON.stringify(value)}`);
      return expected;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'string' || !values.includes(value as T)) throw new SchemaError(path, `expected one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
      return value as T;
    },
  };
}

export function array<T>(item: Schema<T>, options: { max: number; min?: number }): Schema<T[]> {
  return {
    parse(value, path = '') {
      if (!Array.isArray(value)) throw new SchemaError(path, `expected an array, got ${describe(value)}`);
      if (value.length > options.max) throw new SchemaError(path, `more than ${options.max} items`);
      if (value.length < (options.min ?? 0)) throw new SchemaError(path, `fewer than ${options.min} items`);
      return value.map((entry, index) => item.parse(entry, `${path}[${index}]`));
    },
  };
}

export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return {
    optional: true,
    parse(value, path = '') {
      return value === undefined || value === null ? undefined : schema.parse(value, path);
    },
  };
}

/** A map with string keys (e.g. environment variables, per-target addresses). */
export function record<T>(valueSchema: Schema<T>, options: { maxKeys: number; key?: Schema<string> }): Schema<Record<string, T>> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
        throw new SchemaError(path, `expected a map, got ${describe(value)}`);
      const entries = Object.entries(value);
      if (entries.length > options.maxKeys) throw new SchemaError(path, `more than ${options.maxKeys} keys`);
      const out: Record<string, T> = {};
      for (const [key, inner] of entries) {
        options.key?.parse(key, `${path}{${key}}`);
        setOwn(out, key, valueSchema.parse(inner, `${path}.${key}`)); // `__proto__` stays a key
      }
      return out;
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : undefined extends Infer<S[K]> ? K : never }[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

export function object<S extends Shape>(shape: S, options: { strict?: boolean } = {}): Schema<Flatten<ObjectOf<S>>> {
  // Listed once: every message of the protocol passes here, several times per poll.
  const fields = Object.entries(shape);
  return {
    parse(value, path = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
        throw new SchemaError(path, `expected an object, got ${describe(value)}`);
      const input = value as Record<string, unknown>;
      if (options.strict)
        for (const key of Object.keys(input)) if (!hasOwn(shape, key)) throw new SchemaError(path ? `${path}.${key}` : key, `unknown key (allowed: ${Object.keys(shape).join(', ')})`);
      const out: Record<string, unknown> = {};
      for (const [key, schema] of fields) {
        const at = path ? `${path}.${key}` : key;
        // Own properties only: an inherited `toString` is not a value the sender gave.
        const given = hasOwn(input, key) ? input[key] : undefined;
        if (given === undefined && !schema.optional) throw new SchemaError(at, 'missing');
        const parsed = schema.parse(given, at);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as Flatten<ObjectOf<S>>;
    },
  };
}

/** A tagged union: `field` picks the member schema. */
export function union<const K extends string, M extends Record<string, Schema<unknown>>>(field: K, members: M): Schema<Infer<M[keyof M]>> {
  return {
    parse(value, path = '') {
      const tag = typeof value === 'object' && value !== null && hasOwn(value, field) ? (value as Record<string, unknown>)[field] : undefined;
      // Own members only: the tag `constructor` or `toString` must not pick Object.prototype's.
      const member = typeof tag === 'string' ? ownValue<Schema<unknown>>(members, tag) : undefined;
      if (!member) throw new SchemaError(path ? `${path}.${field}` : field, `expected one of ${Object.keys(members).join(', ')}, got ${JSON.stringify(tag)}`);
      return member.parse(value, path) as Infer<M[keyof M]>;
    },
  };
}

/** Common field shapes. */
export const hexSha256 = () => string({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, label: 'a lower-case hex SHA-256' });
export const httpUrl = () => string({ max: 2048, pattern: /^https?:\/\/[^\s/?#]+[^\s]*$/, label: 'an http(s) URL' });
export const utcMs = () => integer({ min: 0, max: 8.64e15 });

// ───────────────────────────── built on demand ─────────────────────────────

/**
 * Message schemas built on demand. The combinators above allocate closures, option
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
