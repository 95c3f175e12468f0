/**
 * Managers must be `https://`. A manager configured with `allowInsecure: true` may be `http://`
 * (a lab, the demo without openssl), and every connection to it is logged as insecure, so it
 * cannot pass unnoticed. This is the one implementation every family uses, at two points:
 *   - when its config is read (`requireSecureUrl`: a config naming an `http://` manager without
 *     `allowInsecure` is refused before the agent starts), and
 *   - before each connection (`checkManagerUrl`), which also covers URLs learnt at run time: a
 *     redirect or a move to another manager, a DNS-discovered service, an address a DM server
 *     wrote into the DM tree. Such a URL gets the same rule as the configured one.
 */
import { redactUrl } from '../util/redact.ts';

export class InsecureManagerError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly name: 'InsecureManagerError';
  declare readonly code: 'insecureManager';
  /** Configuration, not weather: trying again later changes nothing. */
  declare readonly retryable: false;
  constructor(message: string) {
    super(message);
    this.name = 'InsecureManagerError';
    this.code = 'insecureManager';
    this.retryable = false;
  }
}

export interface ManagerSecurity {
  /** Accept `http://` for this manager (logged at every connection). Default false. */
  allowInsecure?: boolean;
}

/** Throws for a plain-HTTP manager unless allowed; `warn` hears every allowed insecure connection. */
export function checkManagerUrl(url: string, security: ManagerSecurity, warn: (line: string) => void): void {
  if (requireSecureUrl(url, security) === 'insecure')
    warn(`INSECURE connection to manager ${redactUrl(url)} (allowInsecure: true): traffic can be read and changed on the way`);
}

/**
 * The config-time half: throws `InsecureManagerError` for a URL the policy refuses, returns
 * `insecure` for an `http://` URL that `allowInsecure` admits, `secure` for `https://`.
 */
export function requireSecureUrl(url: string, security: ManagerSecurity, what = 'manager'): 'secure' | 'insecure' {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'https') return 'secure';
  if (scheme !== 'http') throw new InsecureManagerError(`${what} ${redactUrl(url)}: only https:// (or http:// with allowInsecure) is accepted`);
  if (security.allowInsecure !== true) throw new InsecureManagerError(`${what} ${redactUrl(url)} is not https:// (set allowInsecure: true for this manager to accept it)`);
  return 'insecure';
}
