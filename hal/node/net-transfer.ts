import { NetworkError } from '../errors.ts';
import type { AbortSignalLike } from '../types.ts';
import { deadlineError } from '../shared/http-body.ts';

/**
 * The life of one HTTP exchange: its first failure (timeout, abort, cancel, socket error), the
 * idle timer and the caller's abort signal. The idle timer runs only while the client waits on
 * the server (connecting, headers, the next body chunk), never while the consumer is busy: with
 * backpressure a slow consumer pauses the socket, and that must not count as a stalled server.
 * The deadline, if any, runs from the start to the end of the exchange regardless of progress.
 */
export class Transfer {
  readonly #timeoutMs: number | undefined;
  #unregisterAbort: () => void = () => {};
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #failure: Error | undefined;
  #ended = false;
  readonly #failHooks: ((error: Error, local: boolean) => void)[] = [];
  /** Called once when the transfer ends either way. */
  onEnd: (() => void) | undefined;

  constructor(timeoutMs: number | undefined, signal: AbortSignalLike | undefined, deadlineMs?: number) {
    this.#timeoutMs = timeoutMs;
    if (deadlineMs !== undefined) this.#deadline = setTimeout(() => this.fail(deadlineError(deadlineMs), true), deadlineMs);
    // An already aborted signal calls back synchronously, before onAbort returns: fail() copes.
    const unregister = signal?.onAbort((reason) => this.fail(new NetworkError('aborted', 'request aborted', { cause: reason }), true));
    if (unregister && !this.#failure) this.#unregisterAbort = unregister;
    else unregister?.();
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Runs `hook` on failure; `local` failures (timeout, abort, cancel) discard bytes not yet read. */
  onFail(hook: (error: Error, local: boolean) => void): void {
    if (this.#failure) hook(this.#failure, true);
    else this.#failHooks.push(hook);
  }

  /** First failure wins; later ones (the socket errors our own destroy() causes) are ignored. */
  fail(error: Error, local: boolean): void {
    if (this.#failure || this.#ended) return;
    this.#failure = error;
    this.idle(undefined);
    for (const hook of this.#failHooks.splice(0)) hook(error, local);
    this.end();
  }

  /** (Re)starts the idle timer for a wait on the server, or stops it with `undefined`. */
  idle(what: string | undefined): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (what === undefined || this.#timeoutMs === undefined || this.#failure || this.#ended) return;
    const timeoutMs = this.#timeoutMs;
    this.#timer = setTimeout(() => this.fail(new NetworkError('timeout', `no progress for ${timeoutMs} ms (${what})`), true), timeoutMs);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.idle(undefined);
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#unregisterAbort();
    this.onEnd?.();
  }
}
