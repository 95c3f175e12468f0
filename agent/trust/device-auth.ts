/**
 * The device's authentication request (in the manner of Mender's auth requests): the device signs
 * a small canonical-JSON body with its keystore key; the manager answers with a short-lived token
 * once an admin has accepted that key, and keeps unknown keys pending. A fresh nonce and the
 * device's trusted time in every request let the manager refuse a replayed request.
 */
import type { Keystore } from '../../hal/types.ts';
import { toHex } from '../util/bytes.ts';

export const AUTH_SIGNATURE_HEADER = 'x-dm-signature';
export const AUTH_PATH = '/auth/v1/requests';

export interface AuthRequestBody {
  deviceId: string;
  /** Ed25519 public key, 64 hex digits. */
  publicKey: string;
  /** 16 random bytes, hex: never reused. */
  nonce: string;
  /** When the request was made (the device's trusted time, ms). */
  timeMs: number;
}

/** The body bytes and the signature header of one authentication request. */
export async function signedAuthRequest(keystore: Keystore, deviceId: string, nonce: Uint8Array, timeMs: number): Promise<{ body: Uint8Array; signature: string }> {
  const { key } = await keystore.publicKey();
  const body: AuthRequestBody = { deviceId, publicKey: toHex(key), nonce: toHex(nonce), timeMs };
  // The canonical-JSON writer is loaded here, at the first authentication, not with the delivery
  // family: a device configured without device auth never carries it.
  const { canonicalBytes } = await import('./canonical-json.ts');
  const bytes = canonicalBytes(body);
  return { body: bytes, signature: toHex(await keystore.sign(bytes)) };
}
