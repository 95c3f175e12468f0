/**
 * Where a manager sent the device (`redirect` in a package list), with the three guards a
 * redirect needs so it can never cut a device off for good:
 *   - scheme: a redirect may keep or upgrade the scheme, never downgrade https → http (refused
 *     and logged: a manager reached over TLS cannot hand the device to a plain-text one), and an
 *     `http://` target at all only with `allowInsecure` (the transport policy, one rule for every
 *     manager the device learns of);
 *   - expiry: after `maxFailedPolls` consecutive polls of the redirected manager that failed on
 *     the wire, the redirect is dropped and the configured manager is polled again;
 *   - config wins: the redirect remembers the configured manager it was learnt under; once the
 *     configuration names another manager, the old redirect is ignored (and cleared).
 * State is one store record, written only when it changes (not on every poll).
 */
import type { Logger } from '../log.ts';
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue } from '../store/index.ts';
import { InsecureManagerError, requireSecureUrl } from '../trust/transport-policy.ts';
import { redactUrl } from '../util/redact.ts';

export const REDIRECT_KEY = 'delivery/manager';

export interface RedirectState {
  /** The manager to poll instead of the configured one. */
  url: string;
  /** The configured manager this redirect was learnt under. */
  learntUnder: string;
  /** Consecutive failed polls of `url`. */
  failures: number;
}

export interface RedirectOptions {
  store: KeyValueStore;
  /** The configured manager (the config file's `delivery.manager`). */
  configured: string;
  /** `delivery.allowInsecure`: whether an `http://` manager may be polled at all. */
  allowInsecure?: boolean;
  /** Failed polls of a redirected manager before falling back to the configured one. */
  maxFailedPolls: number;
  log: Logger;
}

const schemeOf = (url: string): string => url.slice(0, Math.max(0, url.indexOf(':'))).toLowerCase();

/** True when going from `from` to `to` would lose TLS. */
export function downgradesScheme(from: string, to: string): boolean {
  return schemeOf(from) === 'https' && schemeOf(to) !== 'https';
}

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
