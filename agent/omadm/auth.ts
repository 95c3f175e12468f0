/**
 * Authentication of a DM session (DM_Security 1.2): the client's Cred (auth-basic / auth-md5) and
 * the server's challenges; nonces from Chal / NextNonce persist in DMAcc (AAuthData) before they
 * are used, so a reboot never replays an old one. The HMAC header and the check of the server's
 * credentials are in auth-rare.ts, a lazy chunk: a DIGEST or BASIC session that does not
 * authenticate the server never loads them.
 */
import type { Cred, Chal } from '../syncml/model.ts';
import { fromBase64, utf8Encode } from '../util/bytes.ts';
import { authBasic, authMd5, type Md5 } from './crypto.ts';
import { type AuthType, type DmAccount, storeNonce } from './csp/dmacc.ts';
import type { DmTree } from './tree.ts';

/** The auth types' Meta Type and the HMAC header: a `const enum` (inlined where used, no module variables in a QuickJS heap). */
export const enum AuthMeta {
  basic = 'syncml:auth-basic',
  md5 = 'syncml:auth-md5',
  hmac = 'syncml:auth-MAC',
  hmacHeader = 'x-syncml-hmac',
}

/** Cred for the SyncHdr (basic or md5); undefined for HMAC, which travels in the HTTP header. */
export function clientCred(md5: Md5, account: DmAccount, type: AuthType): Cred | undefined {
  const { name, secret, nonce } = account.client;
  if (type === 'BASIC') return { meta: { type: AuthMeta.basic, format: 'b64' }, data: authBasic(name, secret) };
  if (type === 'DIGEST') return { meta: { type: AuthMeta.md5, format: 'b64' }, data: authMd5(md5, name, secret, nonce ?? new Uint8Array(0)) };
  return undefined;
}

/** A challenge: which type the server wants next and the nonce to use (b64 in NextNonce). */
export function readChal(chal: Chal | undefined): { type?: AuthType; nonce?: Uint8Array } | undefined {
  if (!chal?.meta) return undefined;
  const meta = chal.meta.type;
  const type: AuthType | undefined = meta === AuthMeta.basic ? 'BASIC' : meta === AuthMeta.md5 ? 'DIGEST' : meta === AuthMeta.hmac ? 'HMAC' : undefined;
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
