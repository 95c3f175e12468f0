/**
 * Small validation combinators for wire messages and config files. A schema both checks a
 * decoded value and gives it a TypeScript type (`Infer<typeof schema>`), so the agent and the
 * reference server share one definition per message. Every bound (string length, array size)
 * is explicit: a malformed or oversized message is refused before anything acts on it.
 * Unknown object keys are dropped (forward compatibility) unless `strict` is set (config files,
 * where a typo must not go unnoticed).
 */
import { hasOwn, ownValue, setOwn } from '../util/own.ts';
// Its re-export path, in the core with this module: otherwise it is a module of its own (no code,
// ~1 KB of a QuickJS heap) that every family's chunk imports.
import './on-demand.ts';

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

/**
 * The combinators below build data, not closures: a schema is a node `{ parse, optional, k, a, b, c }`
 * whose `parse` is the one interpreter `check` (a QuickJS heap holds one function for every kind
 * instead of one per kind, and a built schema is plain objects of one shape). `k` is the kind,
 * `a`..`c` its arguments. Hand-written schemas (`{ parse(value, path) { … } }`) nest as before.
 */
const enum Kind {
  String,
  Integer,
  Boolean,
  Bytes,
  Literal,
  OneOf,
  Array,
  Optional,
  Record,
  Object,
  Union,
  OnDemand,
}

interface Node {
  parse(value: unknown, path?: string): unknown;
  optional: boolean;
  k: Kind;
  // The kind's arguments (see `check`); `c` of an on-demand node is the schema it keeps.
  a: any;
  b: any;
  c: any;
}

const node = <T>(k: Kind, a?: unknown, b?: unknown, c?: unknown): Schema<T> => ({ parse: check, optional: k === Kind.Optional, k, a, b, c }) as Node as Schema<T>;

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function check(this: Node, value: unknown, path = ''): unknown {
  const { k, a, b } = this;
  // The expected type, for the one "expected …, got …" message.
  let type: string | undefined;
  let problem: string | undefined;
  switch (k) {
    case Kind.String:
      if (typeof value !== 'string') type = 'a string';
      else if (value.length < (a.min ?? 0)) problem = `shorter than ${a.min}`;
      else if (value.length > a.max) problem = `longer than ${a.max} characters`;
      else if (a.pattern && !a.pattern.test(value)) problem = `not ${a.label ?? `matching ${a.pattern}`}`;
      break;
    case Kind.Integer: {
      const min = a?.min ?? Number.MIN_SAFE_INTEGER;
      const max = a?.max ?? Number.MAX_SAFE_INTEGER;
      if (typeof value !== 'number' || !Number.isInteger(value)) type = 'an integer';
      else if (value < min || value > max) problem = `${value} outside ${min}..${max}`;
      break;
    }
    case Kind.Boolean:
      if (typeof value !== 'boolean') type = 'a boolean';
      break;
    case Kind.Bytes:
      if (!(value instanceof Uint8Array)) type = 'bytes';
      else if (value.length > a.max) problem = `more than ${a.max} bytes`;
      break;
    case Kind.Literal:
    case Kind.OneOf:
      if (k === Kind.Literal ? value !== a : typeof value !== 'string' || !a.includes(value))
        problem = `expected ${k === Kind.Literal ? JSON.stringify(a) : `one of ${a.join(', ')}`}, got ${JSON.stringify(value)}`;
      break;
    case Kind.Array:
      if (!Array.isArray(value)) type = 'an array';
      else if (value.length > b.max) problem = `more than ${b.max} items`;
      else if (value.length < (b.min ?? 0)) problem = `fewer than ${b.min} items`;
      else return value.map((entry, index) => a.parse(entry, `${path}[${index}]`));
      break;
    case Kind.Optional:
      return value === undefined || value === null ? undefined : a.parse(value, path);
    case Kind.Record:
    case Kind.Object: {
      if (!isMap(value)) {
        type = k === Kind.Record ? 'a map' : 'an object';
        break;
      }
      const out: Record<string, unknown> = {};
      if (k === Kind.Record) {
        const entries = Object.entries(value);
        if (entries.length > b.maxKeys) {
          problem = `more than ${b.maxKeys} keys`;
          break;
        }
        for (const [key, inner] of entries) {
          b.key?.parse(key, `${path}{${key}}`);
          setOwn(out, key, a.parse(inner, `${path}.${key}`)); // `__proto__` stays a key
        }
        return out;
      }
      if (b.strict) for (const key of Object.keys(value)) if (!hasOwn(a, key)) throw new SchemaError(join(path, key), `unknown key (allowed: ${Object.keys(a).join(', ')})`);
      for (const [key, schema] of this.c as [string, Schema<unknown>][]) {
        const at = join(path, key);
        // Own properties only: an inherited `toString` is not a value the sender gave.
        const given = hasOwn(value, key) ? value[key] : undefined;
        if (given === undefined && !schema.optional) throw new SchemaError(at, 'missing');
        const parsed = schema.parse(given, at);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out;
    }
    case Kind.Union: {
      const tag = typeof value === 'object' && value !== null && hasOwn(value, a) ? (value as Record<string, unknown>)[a] : undefined;
      // Own members only: the tag `constructor` or `toString` must not pick Object.prototype's.
      const member = typeof tag === 'string' ? ownValue<Schema<unknown>>(b, tag) : undefined;
      if (!member) throw new SchemaError(join(path, a), `expected one of ${Object.keys(b).join(', ')}, got ${JSON.stringify(tag)}`);
      return member.parse(value, path);
    }
    default:
      // On demand (below): `a` builds the schema, `c` keeps it while schemas are retained.
      if (!retain) {
        this.c = undefined; // one kept before the switch is let go
        return a().parse(value, path);
      }
      return (this.c ??= a()).parse(value, path);
  }
  if (type !== undefined) problem = `expected ${type}, got ${describe(value)}`;
  if (problem !== undefined) throw new SchemaError(path, problem);
  return value;
}

/**
 * Most combinators only record their arguments as their node's `a` and `b`: one function for all of
 * them and a closure each, rather than a function each. (`Schema<any>`: each export below states
 * its own type.)
 */
const combinator = (k: Kind) => (a?: unknown, b?: unknown): Schema<any> => node(k, a, b);

export const string: (options: { min?: number; max: number; pattern?: RegExp; label?: string }) => Schema<string> = combinator(Kind.String);

/** Bounds default to the safe integers. */
export const integer: (options?: { min?: number; max?: number }) => Schema<number> = combinator(Kind.Integer);

export const boolean: () => Schema<boolean> = combinator(Kind.Boolean);

export const bytes: (options: { max: number }) => Schema<Uint8Array> = combinator(Kind.Bytes);

export const literal: <const T extends string | number | boolean>(expected: T) => Schema<T> = combinator(Kind.Literal);

export const oneOf: <const T extends string>(values: readonly T[]) => Schema<T> = combinator(Kind.OneOf);

export const array: <T>(item: Schema<T>, options: { max: number; min?: number }) => Schema<T[]> = combinator(Kind.Array);

export const optional: <T>(schema: Schema<T>) => Schema<T | undefined> = combinator(Kind.Optional);

/** A map with string keys (e.g. environment variables, per-target addresses). */
export const record: <T>(valueSchema: Schema<T>, options: { maxKeys: number; key?: Schema<string> }) => Schema<Record<string, T>> = combinator(Kind.Record);

/** A tagged union: `field` picks the member schema. */
export const union: <const K extends string, M extends Record<string, Schema<unknown>>>(field: K, members: M) => Schema<Infer<M[keyof M]>> = combinator(Kind.Union);

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : undefined extends Infer<S[K]> ? K : never }[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

export function object<S extends Shape>(shape: S, options: { strict?: boolean } = {}): Schema<Flatten<ObjectOf<S>>> {
  // The fields listed once: every message of the protocol passes here, several times per poll.
  return node(Kind.Object, shape, options, Object.entries(shape));
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
  return node(Kind.OnDemand, build);
}
