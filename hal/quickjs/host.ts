/**
 * The QuickJS host: runs dist/agent.js inside quickjs-emscripten (the *sync* build: the asyncify
 * build's dispose() has upstream bug #261) and hands it a HAL that lives on the host — any
 * `Device` (the Node HAL, the mock HAL), so the simulated flash stays out of the guest heap.
 *
 * Calls cross through two bridge endpoints (./wire.ts), one each side; promises never block: a
 * host promise settles the guest's later, and the host runs the guest's job queue after anything
 * that can have queued work. `setMemoryLimit` is no real cap in this build, so after every job
 * the host reads `computeMemoryUsage()`, records the peak and fails the run with
 * `QuickJsMemoryError` once the board's budget is exceeded.
 */
import { getQuickJS, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime } from 'quickjs-emscripten';
import type { Device } from '../types.ts';
import { DiffInputError, EngineError, HashError, SyncmlError } from '../../wasm/index.ts';
import { type GuestCode, loadGuestCode } from './bundle.ts';
import { installLoader } from './loader.ts';
import { type GuestOffer, guestView, resolveOffer } from './offer.ts';
import { QuickJsGuestError, QuickJsMemoryError } from './errors.ts';
import { RuntimeKnobs, type StripMode } from './runtime-knobs.ts';
import { Endpoint, type Packed, classReviver } from './wire.ts';
import * as halErrors from '../errors.ts';

export { guestView, type GuestOffer } from './offer.ts';

export interface QuickJsHostOptions {
  /** The guest heap budget (a board's `memoryBudgetBytes`). */
  budgetBytes: number;
  /** Path of the agent bundle (default dist/agent.js). */
  agentPath?: string;
  /**
   * What the guest's compiler keeps of the code it loads (default 'debug': neither source text nor
   * line tables, as `qjsc -s -s` builds firmware; 'source' keeps line numbers in stacks).
   */
  strip?: StripMode;
}

/** What the guest's root offers (see ./guest.ts). */
export interface GuestAgent {
  version: string;
  boot: { engine: string; verifier?: string; fresh: boolean; pendingJobs: number };
  pollOnce(): Promise<any>;
  trigger(family: string, reason?: string): Promise<any>;
  info(): any;
  /** The firmware family's last check and the system information (absent without the family). */
  firmware(): Promise<{ last: any; info: any } | undefined>;
  close(): Promise<void>;
}

/** `JS_ComputeMemoryUsage` as quickjs-emscripten hands it over (bytes and counts; the fields the reports use). */
export interface GuestMemoryUsage {
  memory_used_size: number;
  atom_count: number;
  atom_size: number;
  str_count: number;
  str_size: number;
  obj_count: number;
  obj_size: number;
  prop_size: number;
  shape_size: number;
  js_func_count: number;
  js_func_size: number;
  js_func_code_size: number;
  js_func_pc2line_size: number;
  binary_object_size: number;
  [field: string]: number;
}

export class QuickJsHost {
  readonly endpoint = new Endpoint(classReviver({ ...halErrors, DiffInputError, EngineError, HashError, SyncmlError }));
  private readonly runtime: QuickJSRuntime;
  private readonly vm: QuickJSContext;
  private readonly guest: QuickJSHandle;
  private depth = 0;
  private disposed = false;
  private failure: Error | undefined;
  private peak = 0;
  private last = 0;
  private atPeak: GuestMemoryUsage | undefined;
  private readonly modules: string[] = [];
  private readonly failureListeners = new Set<(error: Error) => void>();

  static async create(options: QuickJsHostOptions): Promise<QuickJsHost> {
    if (!Number.isInteger(options.budgetBytes) || options.budgetBytes <= 0) throw new RangeError('budgetBytes must be a positive integer');
    const strip = options.strip ?? 'debug';
    if (!['none', 'source', 'debug'].includes(strip)) throw new RangeError("strip must be 'none', 'source' or 'debug'");
    const code = await loadGuestCode(options.agentPath);
    const QuickJS = await getQuickJS();
    const runtime = QuickJS.newRuntime();
    try {
      return new QuickJsHost(runtime, strip === 'none' ? undefined : RuntimeKnobs.locate(QuickJS, runtime), strip, code, options.budgetBytes);
    } catch (error) {
      runtime.dispose();
      throw error;
    }
  }

  private constructor(runtime: QuickJSRuntime, knobs: RuntimeKnobs | undefined, strip: StripMode, code: GuestCode, private readonly budgetBytes: number) {
    this.runtime = runtime;
    this.vm = runtime.newContext();
    const prepare = installLoader(runtime, this.vm, code, knobs, strip, (name) => this.modules.push(name));
    this.installHostFunctions();
    const evaluated = this.vm.evalCode(prepare('guest.js', code.guest), 'guest.js', { type: 'module' });
    if (evaluated.error) throw new QuickJsGuestError(`guest did not load: ${JSON.stringify(this.dumpAndDispose(evaluated.error))}`);
    evaluated.value.dispose();
    this.pump();
    this.guest = this.vm.getProp(this.vm.global, '__dmGuest');
    if (this.vm.typeof(this.guest) !== 'object') throw new QuickJsGuestError('guest did not install its bridge');
    this.endpoint.connect({
      invoke: (id, args) => this.callGuest('invoke', [this.vm.newNumber(id), ...this.toGuest(args)], true)!,
      // A host promise that settles after the guest failed (memory budget) or was disposed has no
      // guest left to tell: dropped here, not thrown into a promise chain nobody waits on.
      settle: (promiseId, ok, value) => {
        if (!this.disposed && !this.failure) void this.callGuest('settle', [this.vm.newNumber(promiseId), ok ? this.vm.true : this.vm.false, ...this.toGuest(value)], false);
      },
      // The host dropped its proxy of a guest function (V8 collected it): the guest's table lets go
      // of the function and of the object it is bound to, which live in the guest heap.
      release: (id) => {
        if (!this.disposed && !this.failure) void this.callGuest('release', [this.vm.newNumber(id)], false);
      },
    });
  }

  /** Peak and latest guest heap use (`memory_used_size`, bytes), and QuickJS's whole breakdown at the peak. */
  get memory(): { peakBytes: number; lastBytes: number; budgetBytes: number; atPeak: GuestMemoryUsage | undefined } {
    return { peakBytes: this.peak, lastBytes: this.last, budgetBytes: this.budgetBytes, atPeak: this.atPeak };
  }

  /** The agent modules the guest has loaded so far, in order (dist/agent.js, then the chunks it imported). */
  get loadedModules(): readonly string[] {
    return [...this.modules];
  }

  /**
   * `value` as the guest sees it, handed back: every call on the result crosses into the guest and
   * from there back to the host. How the shared HAL suites test the bridge.
   */
  mirror<T>(value: T): T {
    return this.root().echo(value) as T;
  }

  private root(): { start(...args: unknown[]): Promise<GuestAgent>; echo(value: unknown): unknown } {
    return this.endpoint.unpack(this.fromGuest(this.callGuestRaw('root', []))) as never;
  }

  /**
   * Creates the agent inside QuickJS on `device` (which stays on the host). What the board's
   * firmware offers natively (`nativeServices`, ./offer.ts) the guest gets from the host: with
   * `engines`, hashing, diffing and SyncML tokenizing run on the host's engines (the device's WASM
   * and digest facets) through the bridge; with `signatures`, the device's verifier checks TUF
   * metadata. Without them the guest loads its JS engines and JS verifier. `offer` overrides the
   * board (tests and benches run both ways).
   */
  async start(device: Device, board: unknown, config: unknown, offer?: GuestOffer): Promise<GuestAgent> {
    const chunk = (board as { downloadChunkBytes?: unknown } | null)?.downloadChunkBytes;
    const { engines, signatures } = await resolveOffer(device, board, offer);
    const view = guestView(device, { ...(typeof chunk === 'number' && chunk > 0 ? { maxBodyChunk: chunk } : {}), signatures });
    return this.guarded(this.root().start(view, board, config, engines));
  }

  /** Runs a guest promise to its end, or fails with the host's failure (memory budget). */
  guarded<T>(promise: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const onFailure = (error: Error) => reject(error);
      this.failureListeners.add(onFailure);
      promise.then(resolve, reject).finally(() => this.failureListeners.delete(onFailure));
    });
  }

  /** How many functions the guest has exported to the host and how many of its calls are pending (leak checks). */
  guestBridgeSizes(): { functions: number; pending: number } {
    return JSON.parse(this.fromGuest(this.callGuestRaw('sizes', [])).json) as { functions: number; pending: number };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.endpoint.dispose();
    this.guest.dispose();
    this.vm.dispose();
    this.runtime.dispose();
  }

  // ── guest → host ──

  private installHostFunctions(): void {
    const vm = this.vm;
    const hostObject = vm.newObject();
    const invoke = vm.newFunction('invoke', (idHandle, jsonHandle, ...buffers) => {
      const answer = this.endpoint.invoke(vm.getNumber(idHandle), this.readPacked(jsonHandle, buffers));
      const array = vm.newArray();
      this.toGuest(answer).forEach((handle, index) => {
        vm.setProp(array, index, handle);
        handle.dispose();
      });
      return array;
    });
    const settle = vm.newFunction('settle', (idHandle, okHandle, jsonHandle, ...buffers) => {
      this.endpoint.settle(vm.getNumber(idHandle), vm.dump(okHandle) === true, this.readPacked(jsonHandle, buffers));
    });
    const release = vm.newFunction('release', (idHandle) => {
      this.endpoint.release(vm.getNumber(idHandle));
    });
    vm.setProp(hostObject, 'invoke', invoke);
    vm.setProp(hostObject, 'settle', settle);
    vm.setProp(hostObject, 'release', release);
    vm.setProp(vm.global, '__dmHost', hostObject);
    invoke.dispose();
    settle.dispose();
    release.dispose();
    hostObject.dispose();
  }

  private readPacked(jsonHandle: QuickJSHandle, bufferHandles: QuickJSHandle[]): Packed {
    return { json: this.vm.getString(jsonHandle), buffers: bufferHandles.map((handle) => this.copyBuffer(handle)) };
  }

  private copyBuffer(handle: QuickJSHandle): ArrayBuffer {
    const view = this.vm.getArrayBuffer(handle);
    try {
      return view.value.slice().buffer as ArrayBuffer;
    } finally {
      view.dispose();
    }
  }

  // ── host → guest ──

  private toGuest(packed: Packed): QuickJSHandle[] {
    return [this.vm.newString(packed.json), ...packed.buffers.map((buffer) => this.vm.newArrayBuffer(buffer))];
  }

  private fromGuest(array: QuickJSHandle): Packed {
    try {
      const lengthHandle = this.vm.getProp(array, 'length');
      const length = this.vm.getNumber(lengthHandle);
      lengthHandle.dispose();
      const items = Array.from({ length }, (_, index) => this.vm.getProp(array, index));
      try {
        return { json: this.vm.getString(items[0]!), buffers: items.slice(1).map((handle) => this.copyBuffer(handle)) };
      } finally {
        for (const item of items) item.dispose();
      }
    } finally {
      array.dispose();
    }
  }

  private callGuest(method: 'invoke' | 'settle' | 'release', args: QuickJSHandle[], answer: boolean): Packed | undefined {
    const result = this.callGuestRaw(method, args);
    if (!answer) {
      result.dispose();
      return undefined;
    }
    return this.fromGuest(result);
  }

  private callGuestRaw(method: string, args: QuickJSHandle[]): QuickJSHandle {
    if (this.disposed) throw new QuickJsGuestError('the QuickJS host is disposed');
    if (this.failure) throw this.failure;
    const fn = this.vm.getProp(this.guest, method);
    this.depth++;
    let result;
    try {
      result = this.vm.callFunction(fn, this.vm.undefined, ...args);
    } finally {
      this.depth--;
      fn.dispose();
      for (const arg of args) if (arg.alive && arg !== this.vm.true && arg !== this.vm.false) arg.dispose();
    }
    // Whatever the call queued runs now (unless this call is itself nested inside a guest job).
    queueMicrotask(() => this.pump());
    if (result.error) throw new QuickJsGuestError(`guest ${method} failed: ${JSON.stringify(this.dumpAndDispose(result.error))}`);
    return result.value;
  }

  /** Runs the guest's pending jobs, checking the heap after each one. */
  private pump(): void {
    if (this.depth > 0 || this.disposed || this.failure) return;
    this.depth++;
    try {
      while (this.runtime.hasPendingJob()) {
        const result = this.runtime.executePendingJobs(1);
        if (result.error) {
          // A job threw outside any promise chain the host waits on: the guest's bug, reported once.
          const error = this.dumpAndDispose(result.error);
          this.fail(new QuickJsGuestError(`guest job failed: ${JSON.stringify(error)}`));
          return;
        }
        this.checkMemory();
        if (this.failure) return;
      }
    } finally {
      this.depth--;
    }
  }

  private checkMemory(): void {
    const usage = this.runtime.computeMemoryUsage();
    const detail = this.vm.dump(usage) as GuestMemoryUsage;
    usage.dispose();
    const used = detail.memory_used_size;
    this.last = used;
    if (used > this.peak) {
      this.peak = used;
      this.atPeak = detail;
    }
    if (used > this.budgetBytes) this.fail(new QuickJsMemoryError(used, this.budgetBytes));
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const listener of this.failureListeners) listener(error);
  }

  private dumpAndDispose(handle: QuickJSHandle): unknown {
    try {
      return this.vm.dump(handle);
    } finally {
      handle.dispose();
    }
  }
}
