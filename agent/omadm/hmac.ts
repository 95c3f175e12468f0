/**
 * The `x-syncml-hmac` header (DM_Security 1.2, PROTOCOLS.md): built and parsed only by the
 * rare half of session authentication (./auth-rare.ts, a lazy chunk), so a session with another
 * auth type does not load it. The digest is ./crypto.ts's `md5Digest`.
 */
import { toBase64 } from '../util/bytes.ts';
import { type Md5, md5Digest } from './crypto.ts';

/** Value of the `x-syncml-hmac` header for a message body. */
export function hmacHeader(md5: Md5, user: string, password: string, nonce: Uint8Array, body: Uint8Array): string {
  const mac = toBase64(md5Digest(md5, user, password, nonce, body));
  return `algorithm=MD5, username="${user}", mac=${mac}`;
}

export interface HmacFields {
  algorithm: string;
  username: string;
  mac: string;
}

/** Parses an `x-syncml-hmac` header; undefined when a field is missing. */
export function parseHmacHeader(value: string): HmacFields | undefined {
  const fields: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    fields[part.slice(0, eq).trim().toLowerCase()] = v;
  }
  const { algorithm, username, mac } = fields;
  if (!username || !mac) return undefined;
  return { algorithm: algorithm ?? 'MD5', username, mac };
}
