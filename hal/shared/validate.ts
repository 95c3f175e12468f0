/**
 * Options validation shared by every HAL implementation. The contract says options objects are
 * checked before anything is touched, and that a bad one raises `InvalidOptionsError`; these
 * helpers keep the messages uniform ("<where>: <field> must be …"). Portable: no platform imports.
 */
import { InvalidOptionsError } from '../errors.ts';

export function requireObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionsError(`${where}: options object required`);
  return value as Record<string, unknown>;
}

export function requireString(value: unknown, where: string, options: { maxLength?: number } = {}): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionsError(`${where} must be a non-empty string`);
  if (options.maxLength !== undefined && value.length > options.maxLength)
    throw new InvalidOptionsError(`${where} must be at most ${options.maxLength} characters`);
  return value;
}

export function optionalString(value: unknown, where: string): string | undefined {
  return value === undefined ? undefined : requireString(value, where);
}

export function requireInteger(value: unknown, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidOptionsError(`${where} must be an integer in ${min}..${max}`);
  return value;
}

export function optionalInteger(value: unknown, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return value === undefined ? undefined : requireInteger(value, where, min, max);
}

/** A finite, non-negative duration in milliseconds (fractions allowed: clocks are not integral). */
export function requireDuration(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidOptionsError(`${where} must be a finite number of milliseconds >= 0`);
  return value;
}

export function optionalBoolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidOptionsError(`${where} must be a boolean`);
  return value;
}

export function requireFunction<T extends (...args: never[]) => unknown>(value: unknown, where: string): T {
  if (typeof value !== 'function') throw new InvalidOptionsError(`${where} must be a function`);
  return value as T;
}

export function optionalFunction<T extends (...args: never[]) => unknown>(value: unknown, where: string): T | undefined {
  return value === undefined ? undefined : requireFunction<T>(value, where);
}

export function requireBytes(value: unknown, where: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidOptionsError(`${where} must be a Uint8Array`);
  return value;
}

export function optionalStringArray(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw new InvalidOptionsError(`${where} must be an array of strings`);
  return [...(value as string[])];
}

export function optionalStringRecord(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const record = requireObject(value, where);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(record)) {
    if (typeof item !== 'string') throw new InvalidOptionsError(`${where}.${key} must be a string`);
    out[key] = item;
  }
  return out;
}

/** Rejects keys the caller did not expect: a typo in an options object must not pass silently. */
export function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(value))
    if (!known.includes(key)) throw new InvalidOptionsError(`${where}: unknown option "${key}"`);
}

/** Validates a `Partial<T>` of string fields (identity overrides). */
export function optionalStringFields<K extends string>(
  value: unknown,
  keys: readonly K[],
  where: string,
): Partial<Record<K, string>> {
  if (value === undefined) return {};
  const record = requireObject(value, where);
  rejectUnknownKeys(record, keys, where);
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const item = record[key];
    if (item !== undefined) out[key] = requireString(item, `${where}.${key}`);
  }
  return out;
}

/** Staging file names: one plain path component, so no name can reach outside the staging area. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateStagingName(name: unknown, where: string): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name))
    throw new InvalidOptionsError(`${where}: name must be 1–128 characters of [A-Za-z0-9._-], not starting with '.', '-' or '_'`);
  return name;
}
