/**
 * The redirect tracker: the guards of ./redirect.ts applied to the one store record. Loaded with
 * the pull-model family only.
 */
import { getValue, putValue } from '../store/index.ts';
import { InsecureManagerError, requireSecureUrl } from '../trust/transport-policy.ts';
import { redactUrl } from '../util/redact.ts';
import { REDIRECT_KEY, type RedirectOptions, type RedirectState, downgradesScheme } from './redirect.ts';

function isState(value: unknown): value is RedirectState {
  const v = value as Partial<RedirectState> | null;
  return typeof v === 'object' && v !== null && typeof v.url === 'string' && typeof v.learntUnder === 'string' && typeof v.failures === 'number';
}

export class RedirectTracker {
  readonly #o: RedirectOptions;

  constructor(options: RedirectOptions) {
    this.#o = options;
  }

  /** The persisted redirect if it still applies (same configured manager, not expired), else undefined. */
  state(): RedirectState | undefined {
    let value: unknown;
    try {
      value = getValue<unknown>(this.#o.store, REDIRECT_KEY);
    } catch {
      return undefined; // an undecodable record must not keep the device from its configured manager
    }
    if (value === undefined) return undefined;
    // Before redirects carried their context the record was the bare URL: treat it as learnt under
    // the configured manager (the scheme guard below still applies to it).
    const state: RedirectState | undefined = typeof value === 'string' ? { url: value, learntUnder: this.#o.configured, failures: 0 } : isState(value) ? value : undefined;
    if (!state) return undefined;
    if (state.learntUnder !== this.#o.configured) return undefined;
    if (state.failures >= this.#o.maxFailedPolls) return undefined;
    if (downgradesScheme(this.#o.configured, state.url) || !this.#admits(state.url)) return undefined;
    return state;
  }

  /** The manager to poll now. */
  current(): string {
    return this.state()?.url ?? this.#o.configured;
  }

  /**
   * Drops a persisted redirect that no longer applies (configuration changed, expired, legacy
   * downgrade), so nothing stale lingers in the store. Call once at start-up.
   */
  async prune(): Promise<void> {
    if (!this.#o.store.has(REDIRECT_KEY) || this.state()) return;
    this.#o.log.info('dropped a stale manager redirect', { configured: redactUrl(this.#o.configured) });
    await this.#o.store.delete(REDIRECT_KEY);
  }

  /**
   * A manager at `from` told the device to use `to` from now on. Returns whether the redirect was
   * taken. A redirect back to the configured manager simply clears the redirect.
   */
  async learn(from: string, to: string): Promise<boolean> {
    if (to === from) return false;
    if (downgradesScheme(from, to) || downgradesScheme(this.#o.configured, to) || !this.#admits(to)) {
      this.#o.log.warn('refused a manager redirect that drops TLS', { from: redactUrl(from), to: redactUrl(to) });
      return false;
    }
    if (to === this.#o.configured) {
      if (this.#o.store.get(REDIRECT_KEY) !== undefined) await this.#o.store.delete(REDIRECT_KEY);
    } else {
      const state: RedirectState = { url: to, learntUnder: this.#o.configured, failures: 0 };
      await putValue(this.#o.store, REDIRECT_KEY, state);
    }
    this.#o.log.info('manager redirected the device', { from: redactUrl(from), to: redactUrl(to) });
    return true;
  }

  /** The transport policy admits `url` (https, or http with allowInsecure). */
  #admits(url: string): boolean {
    try {
      requireSecureUrl(url, { allowInsecure: this.#o.allowInsecure ?? false });
      return true;
    } catch (error) {
      if (error instanceof InsecureManagerError) return false;
      throw error;
    }
  }

  /** A poll of `manager` reached it and got answers: a redirect's failure count starts over. */
  async pollSucceeded(manager: string): Promise<void> {
    const state = this.state();
    if (!state || state.url !== manager || state.failures === 0) return;
    await putValue(this.#o.store, REDIRECT_KEY, { ...state, failures: 0 });
  }

  /**
   * A poll of `manager` failed on the wire. When it is the redirected manager, count it; at the
   * limit the redirect expires and the next poll goes to the configured manager.
   */
  async pollFailed(manager: string): Promise<void> {
    const state = this.state();
    if (!state || state.url !== manager) return;
    const failures = state.failures + 1;
    if (failures >= this.#o.maxFailedPolls) {
      this.#o.log.warn('manager redirect expired: falling back to the configured manager', {
        redirect: redactUrl(state.url),
        configured: redactUrl(this.#o.configured),
        failedPolls: failures,
      });
      await this.#o.store.delete(REDIRECT_KEY);
      return;
    }
    await putValue(this.#o.store, REDIRECT_KEY, { ...state, failures });
  }
}
