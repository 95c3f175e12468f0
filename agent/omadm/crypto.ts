/**
 * The MD5 constructions of OMA DM security (DM_Security 1.2, PROTOCOLS.md): auth-basic, auth-md5,
 * the HMAC header and the package #0 digest. The hash comes from the engines (WASM or JS), injected.
 */
import { concatBytes, toBase64, utf8Encode } from '../util/bytes.ts';

export type Md5 = (data: Uint8Array) => Uint8Array;

const COLON = utf8Encode(':');

function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? utf8Encode(value) : value;
}

/** B64(H(x)). */
export function b64md5(md5: Md5, value: string | Uint8Array): string {
  return toBase64(md5(bytesOf(value)));
}

/** B64(H(B64(H(user:pass)):nonce[:B64(H(extra))])): auth-md5 (no extra), HMAC mac and package #0 digest (extra = body). */
export function md5Digest(md5: Md5, user: string, password: string, nonce: Uint8Array, extra?: Uint8Array): Uint8Array {
  const parts = [utf8Encode(b64md5(md5, `${user}:${password}`)), COLON, nonce];
  if (extra !== undefined) parts.push(COLON, utf8Encode(b64md5(md5, extra)));
  return md5(concatBytes(parts));
}

/** `syncml:auth-md5` Cred data. */
export function authMd5(md5: Md5, user: string, password: string, nonce: Uint8Array): string {
  return toBase64(md5Digest(md5, user, password, nonce));
}

/** `syncml:auth-basic` Cred data. */
export function authBasic(user: string, password: string): string {
  return toBase64(utf8Encode(`${user}:${password}`));
}

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
