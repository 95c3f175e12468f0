/**
 * The rarely needed half of DM session authentication (auth.ts has the rest): the client's HMAC
 * header (`x-syncml-hmac`) and the check of the server's credentials with the challenge that
 * follows a failed one. A lazy chunk: loaded by the first HMAC message or the first session that
 * must authenticate its server.
 */
import type { SyncMLMessage } from '../syncml/model.ts';
import { dataText } from '../syncml/model.ts';
import { fromBase64, timingSafeEqual, utf8Decode, utf8Encode } from '../util/bytes.ts';
import { authBasic, authMd5, type Md5, md5Digest } from './crypto.ts';
import { hmacHeader, parseHmacHeader } from './hmac.ts';
import { type AuthType, type DmAccount, storeNonce } from './csp/dmacc.ts';
import type { DmTree } from './tree.ts';

/** The `x-syncml-hmac` header of an outgoing body (HMAC auth only). */
export function clientHmac(md5: Md5, account: DmAccount, body: Uint8Array): string {
  const { name, secret, nonce } = account.client;
  return hmacHeader(md5, name, secret, nonce ?? new Uint8Array(0), body);
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
