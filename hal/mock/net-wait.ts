import { InvalidOptionsError, NetworkError } from '../errors.ts';
import type { AbortSignalLike, Clock } from '../types.ts';
import { deadlineError } from '../shared/http-body.ts';

/** The part of a `Clock` the mock network needs: timeouts and latency (and the time, when it has one). */
export type Timers = Pick<Clock, 'setTimer' | 'clearTimer'> & Partial<Pick<Clock, 'monotonicMs'>>;

interface HostTimerGlobals {
  setTimeout?: (callback: () => void, delayMs: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  performance?: { now(): number };
}

/**
 * Real timers of the host, for tests that do not bring a virtual clock. Looked up lazily, so a
 * runtime without `setTimeout` (plain QuickJS) only fails when a timer is actually needed.
 */
export function hostTimers(): Timers {
  const host = globalThis as unknown as HostTimerGlobals;
  const handles = new Map<number, unknown>();
  let nextHandle = 1;
  return {
    // Monotonic where the host has it (a wall-clock jump must not time an exchange out).
    monotonicMs: () => host.performance?.now() ?? Date.now(),
    setTimer(callback, delayMs) {
      if (typeof host.setTimeout !== 'function') throw new InvalidOptionsError('no host timers here: pass a clock to createMockNetwork');
      const id = nextHandle++;
      handles.set(
        id,
        host.setTimeout(() => {
          handles.delete(id);
          callback();
        }, delayMs),
      );
      return id;
    },
    clearTimer(id) {
      const handle = handles.get(id);
      if (handle === undefined) return;
      handles.delete(id);
      host.clearTimeout?.(handle);
    },
  };
}

/** Resolves after `delayMs` on the given timers (0 → next macrotask of that clock, never sync). */
export function sleep(timers: Timers, delayMs: number): Promise<void> {
  return new Promise((resolve) => timers.setTimer(resolve, delayMs));
}

/** A promise that never settles: what a stalled server looks like from the client. */
export function never(): Promise<never> {
  return new Promise<never>(() => {});
}

/**
 * The life of one HTTP exchange as the client sees it: every wait on the "server" goes through
 * `wait()`, which the idle timeout, the caller's abort signal or `fail()` (cancel, net closed)
 * can end. Once failed, every later wait throws the same error, like a dead socket would.
 */
export class Exchange {
  readonly #timers: Timers;
  readonly #timeoutMs: number | undefined;
  #unregisterAbort: () => void = () => {};
  #failure: NetworkError | undefined;
  #interrupt: ((error: NetworkError) => void) | undefined;
  #deadline: number | undefined;
  /** The one idle timer of the exchange (with a clock that tells the time): re-armed when it fires early, never per wait. */
  #idleTimer: number | undefined;
  /** When the pending wait runs out of time, and what it waits for. */
  #waitDue: number | undefined;
  #waitWhat = '';
  #ended = false;
  /** Called once when the exchange ends (completed, failed or cancelled). */
  onEnd: (() => void) | undefined;

  constructor(timers: Timers, timeoutMs: number | undefined, signal: AbortSignalLike | undefined, deadlineMs?: number) {
    this.#timers = timers;
    this.#timeoutMs = timeoutMs;
    // The whole exchange, progress or not: fails the pending wait, or the next one if the consumer is busy.
    if (deadlineMs !== undefined) this.#deadline = timers.setTimer(() => this.fail(deadlineError(deadlineMs)), deadlineMs);
    // An already aborted signal calls back synchronously, before onAbort returns: fail() copes.
    const unregister = signal?.onAbort((reason) => this.fail(new NetworkError('aborted', 'request aborted', { cause: reason })));
    if (unregister && !this.#failure && !this.#ended) this.#unregisterAbort = unregister;
    else unregister?.();
  }

  get failure(): NetworkError | undefined {
    return this.#failure;
  }

  /** Ends the exchange: the pending wait (if any) and all later ones reject with `error`. First failure wins. */
  fail(error: NetworkError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#clearDeadline();
    this.#unregisterAbort();
    const interrupt = this.#interrupt;
    this.#interrupt = undefined;
    interrupt?.(error);
  }

  /** The exchange is over (either way): stop listening to the signal, tell the owner. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearDeadline();
    this.#unregisterAbort();
    this.onEnd?.();
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) this.#timers.clearTimer(this.#deadline);
    this.#deadline = undefined;
    if (this.#idleTimer !== undefined) this.#timers.clearTimer(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /**
   * Starts the idle timeout of a wait. A timer per wait (set, then cleared a moment later) was the
   * mock network's biggest cost in a fleet of polling devices; instead one timer runs per exchange,
   * armed by the first wait. It fires at the earliest when the current wait could time out (a wait
   * started after the one that armed it is due later), and then re-arms for the rest of the current
   * wait, or stops if none is pending — so a wait still fails exactly `timeoutMs` after it began.
   * Without a time source, a timer per wait as before (returned, for the caller to clear).
   */
  #startIdle(timeoutMs: number, what: string): number | undefined {
    const now = this.#timers.monotonicMs;
    const fail = () => this.fail(new NetworkError('timeout', `no progress for ${timeoutMs} ms (${what})`));
    if (now === undefined) return this.#timers.setTimer(fail, timeoutMs);
    this.#waitDue = now() + timeoutMs;
    this.#waitWhat = what;
    if (this.#idleTimer === undefined) this.#idleTimer = this.#timers.setTimer(() => this.#idleFired(timeoutMs), timeoutMs);
    return undefined;
  }

  #idleFired(timeoutMs: number): void {
    this.#idleTimer = undefined;
    const due = this.#waitDue;
    if (due === undefined || this.#failure || this.#ended) return;
    const left = due - (this.#timers.monotonicMs?.() ?? due);
    if (left > 0) this.#idleTimer = this.#timers.setTimer(() => this.#idleFired(timeoutMs), left);
    else this.fail(new NetworkError('timeout', `no progress for ${timeoutMs} ms (${this.#waitWhat})`));
  }

  /**
   * Waits for one step of server progress. The idle timer runs only during the wait: a consumer
   * that is slow to ask for the next chunk is not the server stalling.
   */
  async wait<T>(work: Promise<T>, what: string): Promise<T> {
    if (this.#failure) {
      work.catch(() => {}); // the step may still reject later; nobody is listening any more
      throw this.#failure;
    }
    let timer: number | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      this.#interrupt = reject;
      if (this.#timeoutMs !== undefined) timer = this.#startIdle(this.#timeoutMs, what);
    });
    work.catch(() => {});
    try {
      return await Promise.race([work, interrupted]);
    } finally {
      this.#interrupt = undefined;
      this.#waitDue = undefined;
      if (timer !== undefined) this.#timers.clearTimer(timer);
    }
  }
}
