/**
 * The MD5 constructions of OMA DM security (DM_Security 1.2, PROTOCOLS.md): auth-basic, auth-md5,
 * the HMAC digest and the package #0 digest. The hash comes from the engines (WASM or JS), injected.
 * The `x-syncml-hmac` header itself is in ./hmac.ts, loaded with the rare auth half (./auth-rare.ts).
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
