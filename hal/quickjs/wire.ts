/**
 * The QuickJS bridge protocol, written once and run on both sides (the Node host and the guest
 * inside QuickJS), so it is portable code: no node:* import, ES2020 only.
 *
 * A value crosses as `Packed`: JSON text plus the byte buffers it refers to (bytes never go
 * through JSON). Functions cross by reference: each side keeps the functions it exported in a
 * table and the other side gets a proxy that `invoke`s them by id. A call answers at once with a
 * value, a thrown error, or `{ $p }` (a pending promise), settled later with `settle` — so neither
 * side ever blocks on the other and the host needs no asyncify build.
 */

export interface Packed {
  json: string;
  buffers: ArrayBuffer[];
}

/** What one side can ask of the other. */
export interface Peer {
  invoke(id: number, args: Packed): Packed;
  settle(promiseId: number, ok: boolean, value: Packed): void;
  /** The other side no longer needs function `id` (a proxy was released); best effort. */
  release?(id: number): void;
}

/** Turns an error received from the other side back into a local one (typed classes by name). */
export type ErrorReviver = (shape: { name: string; message: string; [field: string]: unknown }) => Error;

const plainError: ErrorReviver = (shape) => Object.assign(new Error(shape.message), shape);

/** A reviver that rebuilds errors as the given classes (by name), so `instanceof` holds on this side. */
export function classReviver(classes: Record<string, { prototype: object }>): ErrorReviver {
  return (shape) => {
    const cls = classes[shape.name];
    if (!cls) return plainError(shape);
    const error = Object.create(cls.prototype) as Error;
    for (const key of ['message', 'stack']) Object.defineProperty(error, key, { value: shape[key] ?? '', writable: true, configurable: true });
    return Object.assign(error, shape);
  };
}

interface Registry {
  register(target: object, held: number): void;
}
/** ES2021, so not in the agent's ES2020 library types; Node has it, and QuickJS (its callbacks run only at a full GC). */
const FinalizationRegistryClass = (globalThis as { FinalizationRegistry?: new (cleanup: (held: number) => void) => Registry }).FinalizationRegistry;
/** ES2021 too. In QuickJS a WeakRef empties as soon as its target's last reference goes (reference counting), GC or not. */
const WeakRefClass = (globalThis as { WeakRef?: new (target: object) => { deref(): object | undefined } }).WeakRef;

/**
 * How a side learns that its proxies are gone. 'finalization' (the host: V8 collects proxies
 * only in a GC, and then runs FinalizationRegistry callbacks): release on collection. 'sweep'
 * (the guest: QuickJS frees a proxy the moment it is dropped, but runs finalization callbacks
 * only in a cycle GC, which a steady heap may never reach, so the peer's table grew by every
 * response, signal and listener that crossed): weak references checked every few new proxies.
 */
export type ReleaseMode = 'finalization' | 'sweep';

export class Endpoint {
  /**
   * Exported functions, and the object each was read from (its `this`) when it has one: two Map
   * entries cost the guest ~16 B, a wrapper closure binding the pair ~73 B per export.
   */
  private readonly functions = new Map<number, (...args: unknown[]) => unknown>();
  private readonly owners = new Map<number, unknown>();
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private nextFunction = 1;
  private nextPromise = 1;
  private peer: Peer | undefined;
  /**
   * The table of exported functions would otherwise only grow: every object that crosses (a
   * signal, an HTTP response, a listener) exports its methods, and each entry keeps its object
   * alive on the exporting side (the guest heap, for what the guest exports). When a proxy is
   * collected here, the peer drops the function it stands for.
   */
  private readonly collected: Registry | undefined;
  private readonly weak: Map<number, { deref(): object | undefined }> | undefined;
  private sweepAt = SWEEP_EVERY;
  /** The `Proxy` handler of the guest's remote objects (see decode), made with the first one. */
  private methods: ProxyHandler<Record<string, unknown>> | undefined;
  private closed = false;

  constructor(
    private readonly reviveError: ErrorReviver = plainError,
    release: ReleaseMode = 'finalization',
  ) {
    if (release === 'sweep' && WeakRefClass) this.weak = new Map();
    else if (FinalizationRegistryClass) this.collected = new FinalizationRegistryClass((id) => this.onCollected(id));
  }

  /** Drops every exported function and fails every pending call (the peer is gone). */
  dispose(): void {
    this.closed = true;
    this.functions.clear();
    this.owners.clear();
    this.weak?.clear();
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter.reject(new Error('bridge: endpoint disposed'));
  }

  private onCollected(id: number): void {
    if (this.closed || !this.peer?.release) return;
    try {
      this.peer.release(id);
    } catch {
      // Best effort: a peer that cannot take the release now (disposed, failed) has no table to prune.
    }
  }

  connect(peer: Peer): void {
    this.peer = peer;
  }

  /** How many exported functions and pending calls are alive (leak checks in tests). */
  get sizes(): { functions: number; pending: number } {
    return { functions: this.functions.size, pending: this.pending.size };
  }

  // ── the peer calls these ──

  invoke(id: number, args: Packed): Packed {
    const fn = this.functions.get(id);
    if (!fn) return this.pack({ $throw: new Error(`bridge: unknown function ${id}`) });
    let result: unknown;
    try {
      result = fn.apply(this.owners.get(id), this.unpack(args) as unknown[]);
    } catch (error) {
      return this.pack({ $throw: error });
    }
    if (!isThenable(result)) return this.pack({ $value: result });
    const promiseId = this.nextPromise++;
    result.then(
      (value) => this.requirePeer().settle(promiseId, true, this.pack(value)),
      (error) => this.requirePeer().settle(promiseId, false, this.pack(error)),
    );
    return this.pack({ $pending: promiseId });
  }

  settle(promiseId: number, ok: boolean, value: Packed): void {
    const waiter = this.pending.get(promiseId);
    if (!waiter) return;
    this.pending.delete(promiseId);
    const decoded = this.unpack(value);
    if (ok) waiter.resolve(decoded);
    else waiter.reject(decoded);
  }

  release(id: number): void {
    this.functions.delete(id);
    this.owners.delete(id);
  }

  // ── local side ──

  /** Exports a local value (typically the root object: a device, or an agent). */
  pack(value: unknown): Packed {
    const buffers: ArrayBuffer[] = [];
    const json = JSON.stringify(this.encode(value, buffers, undefined, 0));
    return { json, buffers };
  }

  unpack(packed: Packed): unknown {
    return this.decode(JSON.parse(packed.json), packed.buffers);
  }

  /** A proxy calling the peer's function `id`. */
  remote(id: number): (...args: unknown[]) => unknown {
    const proxy = this.caller(id);
    if (this.weak) this.track([id], proxy);
    else this.collected?.register(proxy, id);
    return proxy;
  }

  /** Watches `target` ('sweep' mode): once it is gone, the peer's functions `ids` are released. */
  private track(ids: number[], target: object): void {
    const ref = new (WeakRefClass as NonNullable<typeof WeakRefClass>)(target);
    for (const id of ids) this.weak!.set(id, ref);
    if (this.weak!.size >= this.sweepAt) this.sweep();
  }

  /** A function calling the peer's function `id`; `holder` stays alive as long as it does (a remote object, see decode). */
  private caller(id: number, holder?: object): (...args: unknown[]) => unknown {
    return (...args) => {
      void holder;
      const answer = this.unpack(this.requirePeer().invoke(id, this.pack(args))) as { $value?: unknown; $throw?: unknown; $pending?: number };
      if ('$throw' in answer) throw answer.$throw;
      if (answer.$pending === undefined) return answer.$value;
      const promiseId = answer.$pending;
      return new Promise((resolve, reject) => this.pending.set(promiseId, { resolve, reject }));
    };
  }

  /**
   * Releases the peer's functions whose proxies are gone ('sweep' mode). Runs after every
   * SWEEP_EVERY new proxies: a WeakRef costs the guest ~75 bytes, so dead ones are not left to pile up.
   */
  sweep(): void {
    if (!this.weak) return;
    for (const [id, ref] of this.weak) {
      if (ref.deref() !== undefined) continue;
      this.weak.delete(id);
      this.onCollected(id);
    }
    this.sweepAt = this.weak.size + SWEEP_EVERY;
  }

  /**
   * The proxies made so far live as long as this side does (the device and engines the agent runs
   * on): no longer watched ('sweep' mode), which saves the guest a WeakRef for each of them.
   */
  pin(): void {
    this.weak?.clear();
    this.sweepAt = SWEEP_EVERY;
  }

  private requirePeer(): Peer {
    if (!this.peer) throw new Error('bridge: endpoint not connected');
    return this.peer;
  }

  private exportFunction(fn: (...args: unknown[]) => unknown, owner: unknown): number {
    const id = this.nextFunction++;
    this.functions.set(id, fn);
    if (owner !== undefined) this.owners.set(id, owner);
    return id;
  }

  private encode(value: unknown, buffers: ArrayBuffer[], owner: unknown, depth: number): unknown {
    if (depth > 64) throw new Error('bridge: value nested too deeply');
    if (value === undefined) return { $u: 1 };
    if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
    if (typeof value === 'number') return Number.isFinite(value) ? value : { $n: String(value) };
    if (typeof value === 'bigint') return { $big: value.toString() };
    if (typeof value === 'function') return { $f: this.exportFunction(value as (...args: unknown[]) => unknown, owner) };
    if (typeof value !== 'object') return { $u: 1 };
    if (value instanceof Uint8Array) {
      // The other side copies the buffer out of this realm anyway: a view of a whole buffer crosses
      // without a second copy here (the guest heap held both while a download chunk crossed).
      const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
      buffers.push((whole ? value.buffer : value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)) as ArrayBuffer);
      return { $b: buffers.length - 1 };
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      // Other typed arrays (token streams are Uint32Array) keep their type.
      const view = value as unknown as { buffer: ArrayBuffer; byteOffset: number; byteLength: number; constructor: { name: string } };
      buffers.push(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
      return { $ta: view.constructor.name, i: buffers.length - 1 };
    }
    if (value instanceof ArrayBuffer) {
      buffers.push(value.slice(0));
      return { $ab: buffers.length - 1 };
    }
    if (Array.isArray(value)) return value.map((item) => this.encode(item, buffers, value, depth + 1));
    if (value instanceof Error) {
      const fields: Record<string, unknown> = { name: value.name, message: value.message, ...(typeof value.stack === 'string' ? { stack: value.stack } : {}) };
      for (const key of Object.keys(value)) if (key !== 'cause') fields[key] = this.encode((value as unknown as Record<string, unknown>)[key], buffers, value, depth + 1);
      return { $e: fields };
    }
    const iterable = (value as { [Symbol.asyncIterator]?: () => AsyncIterator<unknown> })[Symbol.asyncIterator];
    if (typeof iterable === 'function') {
      // Streams (HTTP bodies) cross as next/return: one iterator, made on the first pull.
      let iterator: AsyncIterator<unknown> | undefined;
      const open = () => (iterator ??= iterable.call(value));
      const next = () => open().next();
      const stop = () => (open().return ? open().return!() : Promise.resolve({ done: true, value: undefined }));
      return { $ai: { next: this.encode(next, buffers, value, depth + 1), return: this.encode(stop, buffers, value, depth + 1) } };
    }
    // Plain objects and class instances alike: own data (getters read now) plus every method up the
    // prototype chain, bound to the object. A HAL object is an interface, so this is its whole surface.
    const out: Record<string, unknown> = {};
    for (const key of propertyNames(value)) {
      // Getters stay live (a writer's durableLength changes after sync): they cross as functions.
      const getter = findGetter(value, key);
      if (getter) {
        out[key] = { $g: this.exportFunction(getter, value) };
        continue;
      }
      let field: unknown;
      try {
        field = (value as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      out[key] = this.encode(field, buffers, value, depth + 1);
    }
    return { $o: out };
  }

  private decode(value: unknown, buffers: ArrayBuffer[]): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => this.decode(item, buffers));
    const tagged = value as Record<string, unknown>;
    if ('$u' in tagged) return undefined;
    if ('$n' in tagged) return Number(tagged.$n);
    if ('$big' in tagged) return BigInt(tagged.$big as string);
    if ('$f' in tagged) return this.remote(tagged.$f as number);
    if ('$b' in tagged) return new Uint8Array(buffers[tagged.$b as number]!);
    if ('$ab' in tagged) return buffers[tagged.$ab as number];
    if ('$ta' in tagged) {
      const type = TYPED_ARRAYS[tagged.$ta as string];
      if (!type) throw new Error(`bridge: unknown typed array ${String(tagged.$ta)}`);
      return new type(buffers[tagged.i as number]!);
    }
    if ('$e' in tagged) {
      const fields = tagged.$e as Record<string, unknown>;
      const shape: { name: string; message: string; [field: string]: unknown } = { name: String(fields.name), message: String(fields.message) };
      for (const key of Object.keys(fields)) if (key !== 'name' && key !== 'message') shape[key] = this.decode(fields[key], buffers);
      return this.reviveError(shape);
    }
    if ('$ai' in tagged) {
      // The next/return pair is its own iterator (the exporter opens one iterator only): no wrapper
      // objects or closures per stream (an HTTP body) in the guest heap.
      const iterator = this.decode(tagged.$ai, buffers) as Record<symbol, unknown>;
      iterator[Symbol.asyncIterator] = returnThis;
      return iterator;
    }
    if ('$o' in tagged) {
      const fields = tagged.$o as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      // In the guest ('sweep' mode) an object of the host with methods is one Proxy over its data,
      // each method's function id in a read-only property, whose `get` hands out a caller of that
      // id (made per use: it lives as long as the caller keeps it, and keeps the object alive).
      // A proxy function and a WeakRef per method cost the guest ~137 B each (the device's facets
      // have ~50 methods, a slot writer 7); this costs the object one Proxy and one WeakRef, and
      // its functions are released once neither it nor a caller of one of its methods is left.
      const methods: number[] = [];
      for (const key of Object.keys(fields)) {
        const field = fields[key] as { $g?: number; $f?: number } | null;
        if (typeof field?.$g === 'number') Object.defineProperty(out, key, { get: this.remote(field.$g), enumerable: true });
        else if (this.weak && typeof field?.$f === 'number') {
          Object.defineProperty(out, key, { value: field.$f, enumerable: true, configurable: true });
          methods.push(field.$f);
        } else out[key] = this.decode(field, buffers);
      }
      if (methods.length === 0) return out;
      this.track(methods, out);
      return new Proxy(
        out,
        (this.methods ??= {
          get: (object, key, receiver) => {
            const own = Reflect.getOwnPropertyDescriptor(object, key);
            return own?.writable === false ? this.caller(own.value as number, object) : Reflect.get(object, key, receiver);
          },
        }),
      );
    }
    // Answer envelopes ($value / $throw / $pending) are plain objects of the protocol itself.
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(tagged)) out[key] = this.decode(tagged[key], buffers);
    return out;
  }
}

function returnThis(this: unknown): unknown {
  return this;
}

/** New proxies between two sweeps. */
const SWEEP_EVERY = 8;

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBuffer) => unknown> = {
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function findGetter(value: object, key: string): (() => unknown) | undefined {
  for (let proto: object | null = value; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

/** Own enumerable keys, then methods and getters of every prototype below Object.prototype. */
function propertyNames(value: object): string[] {
  const names = new Set(Object.keys(value));
  for (let proto = Object.getPrototypeOf(value); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) if (key !== 'constructor' && !key.startsWith('#')) names.add(key);
  }
  return [...names];
}
