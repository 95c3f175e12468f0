/**
 * Authentication of a DM session (DM_Security 1.2): the client's Cred (auth-basic / auth-md5) or
 * HMAC header, and the check of the server's credentials; nonces from Chal / NextNonce persist in
 * DMAcc (AAuthData) before they are used, so a reboot never replays an old one.
 */
import type { Cred, Chal, SyncMLMessage } from '../syncml/model.ts';
import { dataText } from '../syncml/model.ts';
import { fromBase64, timingSafeEqual, utf8Decode, utf8Encode } from '../util/bytes.ts';
import { authBasic, authMd5, hmacHeader, type Md5, md5Digest, parseHmacHeader } from './crypto.ts';
import { type AuthType, type DmAccount, storeNonce } from './csp/dmacc.ts';
import type { DmTree } from './tree.ts';

export const AUTH_BASIC = 'syncml:auth-basic';
export const AUTH_MD5 = 'syncml:auth-md5';
export const AUTH_HMAC = 'syncml:auth-MAC';
export const HMAC_HEADER = 'x-syncml-hmac';

const TYPE_OF_META: Record<string, AuthType> = { [AUTH_BASIC]: 'BASIC', [AUTH_MD5]: 'DIGEST', [AUTH_HMAC]: 'HMAC' };

/** Cred for the SyncHdr (basic or md5); undefined for HMAC, which travels in the HTTP header. */
export function clientCred(md5: Md5, account: DmAccount, type: AuthType): Cred | undefined {
  const { name, secret, nonce } = account.client;
  if (type === 'BASIC') return { meta: { type: AUTH_BASIC, format: 'b64' }, data: authBasic(name, secret) };
  if (type === 'DIGEST') return { meta: { type: AUTH_MD5, format: 'b64' }, data: authMd5(md5, name, secret, nonce ?? new Uint8Array(0)) };
  return undefined;
}

/** The `x-syncml-hmac` header of an outgoing body (HMAC auth only). */
export function clientHmac(md5: Md5, account: DmAccount, body: Uint8Array): string {
  const { name, secret, nonce } = account.client;
  return hmacHeader(md5, name, secret, nonce ?? new Uint8Array(0), body);
}

/** A challenge: which type the server wants next and the nonce to use (b64 in NextNonce). */
export function readChal(chal: Chal | undefined): { type?: AuthType; nonce?: Uint8Array } | undefined {
  if (!chal?.meta) return undefined;
  const type = chal.meta.type === undefined ? undefined : TYPE_OF_META[chal.meta.type];
  let nonce: Uint8Array | undefined;
  if (chal.meta.nextNonce !== undefined) {
    try {
      nonce = chal.meta.format === 'b64' || chal.meta.format === undefined ? fromBase64(chal.meta.nextNonce) : utf8Encode(chal.meta.nextNonce);
    } catch {
      nonce = utf8Encode(chal.meta.nextNonce);
    }
  }
  return { ...(type ? { type } : {}), ...(nonce ? { nonce } : {}) };
}

/** Persists a new client nonce from a challenge, then updates the in-memory account. */
export async function acceptChal(tree: DmTree, account: DmAccount, chal: Chal | undefined): Promise<AuthType | undefined> {
  const read = readChal(chal);
  if (read?.nonce) {
    await storeNonce(tree, account, 'CLCRED', read.nonce);
    account.client.nonce = read.nonce;
  }
  return read?.type;
}

/**
 * Does the server's message authenticate it? DIGEST: Cred md5 with the server credential and the
 * nonce we gave it; BASIC: Cred basic; HMAC: the header's mac over the exact body bytes.
 */
export function serverAuthenticated(md5: Md5, account: DmAccount, type: AuthType, message: SyncMLMessage, body: Uint8Array, hmac: string | undefined): boolean {
  const { name, secret, nonce } = account.server;
  if (type === 'HMAC') {
    const fields = hmac === undefined ? undefined : parseHmacHeader(hmac);
    if (!fields || fields.username !== name) return false;
    let mac: Uint8Array;
    try {
      mac = fromBase64(fields.mac);
    } catch {
      return false;
    }
    return timingSafeEqual(mac, md5Digest(md5, name, secret, nonce ?? new Uint8Array(0), body));
  }
  const cred = message.hdr?.cred;
  const given = dataText(cred?.data, utf8Decode);
  if (given === undefined) return false;
  const expected = type === 'BASIC' ? authBasic(name, secret) : authMd5(md5, name, secret, nonce ?? new Uint8Array(0));
  return timingSafeEqual(utf8Encode(given), utf8Encode(expected));
}

/** A fresh server nonce (persisted before the Chal carrying it goes out). */
export async function challengeServer(tree: DmTree, account: DmAccount, nonce: Uint8Array): Promise<void> {
  await storeNonce(tree, account, 'SRVCRED', nonce);
  account.server.nonce = nonce;
}
