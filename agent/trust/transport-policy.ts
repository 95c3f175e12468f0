/**
 * Managers must be `https://`. A manager configured with `allowInsecure: true` may be `http://`
 * (a lab, the demo), and every connection to it is logged as insecure, so it cannot pass
 * unnoticed. Families call `checkManagerUrl` before each connection.
 */
import { redactUrl } from '../util/redact.ts';

export class InsecureManagerError extends Error {
  override readonly name = 'InsecureManagerError';
  readonly code = 'insecureManager';
}

export interface ManagerSecurity {
  /** Accept `http://` for this manager (logged at every connection). Default false. */
  allowInsecure?: boolean;
}

/** Throws for a plain-HTTP manager unless allowed; `warn` hears every allowed insecure connection. */
export function checkManagerUrl(url: string, security: ManagerSecurity, warn: (line: string) => void): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'https') return;
  if (scheme !== 'http') throw new InsecureManagerError(`manager ${redactUrl(url)}: only https:// (or http:// with allowInsecure) is accepted`);
  if (security.allowInsecure !== true) throw new InsecureManagerError(`manager ${redactUrl(url)} is not https:// (set allowInsecure: true for this manager to accept it)`);
  warn(`INSECURE connection to manager ${redactUrl(url)} (allowInsecure: true): traffic can be read and changed on the way`);
}
