/**
 * Lookups by a key that came from outside (a wire message, a config file, a command line) must
 * see only own properties: `members[tag]` with the tag `constructor`, `toString` or `__proto__`
 * otherwise finds Object.prototype's members and the caller calls them as if they were its own
 * (raw TypeErrors, or a check that passes when it should not). And a plain assignment
 * `out[key] = value` with the key `__proto__` replaces the object's prototype instead of storing
 * data. These helpers do both the safe way. Portable ES2020 (no Object.hasOwn).
 */

const has = Object.prototype.hasOwnProperty;

export function hasOwn(object: object, key: PropertyKey): boolean {
  return has.call(object, key);
}

/** `object[key]` if it is the object's own property, else undefined. */
export function ownValue<T>(object: { readonly [key: string]: T }, key: string): T | undefined {
  return has.call(object, key) ? object[key] : undefined;
}

/** `object[key] = value` as an own data property, whatever the key (`__proto__` included), on a plain object. */
export function setOwn(object: object, key: string, value: unknown): void {
  // Only `__proto__` is an accessor on Object.prototype; every other key assigns as own data, and
  // plain assignment is several times faster than defineProperty (CBOR decoding is a hot path).
  if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else (object as Record<string, unknown>)[key] = value;
}
