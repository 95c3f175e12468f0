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
 *
 * The tracker itself is ./redirect-tracker.ts: the delivery config (./config.ts), which every
 * board loads, reads its default from here and must not load the tracker with it.
 */
import type { Logger } from '../log.ts';
import type { KeyValueStore } from '../store/index.ts';

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
