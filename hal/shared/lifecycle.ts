/**
 * Close semantics for a whole device: once `close()` ran, every facet call throws `ClosedError`
 * and every handle the device handed out (partitions, staging files, slot writers) is closed.
 * The mock also uses it to make a "dead" boot inert: code of the previous boot that is still
 * awaiting something must not write to flash that now belongs to the next boot.
 */
import { ClosedError } from '../errors.ts';

export class Lifecycle {
  #closed = false;
  readonly #handles = new Set<{ close(): unknown }>();
  readonly #extraCheck: ((what: string) => void) | undefined;

  /** `extraCheck` runs after the closed check (the mock passes its power switch). */
  constructor(extraCheck?: (what: string) => void) {
    this.#extraCheck = extraCheck;
  }

  get closed(): boolean {
    return this.#closed;
  }

  check(what: string): void {
    if (this.#closed) throw new ClosedError(what);
    this.#extraCheck?.(what);
  }

  /** Remembers a handle to close with the device; returns it for chaining. */
  track<T extends { close(): unknown }>(handle: T): T {
    this.#handles.add(handle);
    return handle;
  }

  untrack(handle: { close(): unknown }): void {
    this.#handles.delete(handle);
  }

  /**
   * Marks closed and closes tracked handles. Every `close()` is *called* synchronously, so no
   * code of this device can slip a call in between; asynchronous closes are then awaited.
   * Idempotent; handle errors are swallowed (one failing close must not keep the others open).
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const pending: Promise<unknown>[] = [];
    for (const handle of [...this.#handles]) {
      try {
        const result = handle.close();
        if (result instanceof Promise) pending.push(result.catch(() => {}));
      } catch {
        // Best effort, see above.
      }
    }
    this.#handles.clear();
    return Promise.all(pending).then(() => {});
  }
}

type AnyFunction = (...args: never[]) => unknown;

/**
 * Wraps every method of a facet with `lifecycle.check`. Methods named in `syncMethods` throw;
 * all others are asynchronous in the contract, so they reject instead (a synchronous throw from
 * a Promise-returning method surprises `expect(...).rejects` and `.catch` callers alike).
 */
export function guardFacet<T extends object>(facet: T, lifecycle: Lifecycle, label: string, syncMethods: readonly string[] = []): T {
  const guarded: Record<string, unknown> = {};
  for (const key of methodNames(facet)) {
    const method = (facet as Record<string, unknown>)[key] as AnyFunction;
    const what = `${label}.${key}`;
    guarded[key] = syncMethods.includes(key)
      ? (...args: never[]) => {
          lifecycle.check(what);
          return method.apply(facet, args);
        }
      : (...args: never[]) => {
          try {
            lifecycle.check(what);
          } catch (error) {
            return Promise.reject(error);
          }
          return method.apply(facet, args);
        };
  }
  return guarded as T;
}

/** Own and prototype methods (class instances keep theirs on the prototype). */
function methodNames(facet: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = facet; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor && typeof descriptor.value === 'function') names.add(key);
    }
  }
  return [...names];
}
