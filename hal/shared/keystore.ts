/**
 * The keystore facet over a secret slot: the device's Ed25519 key pair, created at first use from
 * the HAL's random source, kept in the slot (a 0600 file for the Node HAL, memory for the mock, a
 * secure element on a board would implement `Keystore` itself), never handed out — only the
 * public key and signatures leave. Portable (no node:* imports): the slot does the IO.
 */
import { loadOnce } from '../../agent/util/load-once.ts';
import type { Bytes, Keystore, Random } from '../types.ts';

export interface SecretSlot {
  /** The stored 32-byte secret, or undefined before the first key exists. */
  load(): Promise<Bytes | undefined>;
  /** Stores a new secret; must refuse to overwrite one (a second device key would orphan the first). */
  create(secret: Bytes): Promise<void>;
}

/**
 * The curve code is loaded at the first key use, not at device creation: a run that signs nothing
 * (most polls) does not pay its ~50–100 ms import (issue 12, cold start).
 */
const curve = loadOnce(async () => (await import('./ed25519.ts')).ed25519);

export function createKeystore(slot: SecretSlot, random: Random): Keystore {
  let secret: Promise<Bytes> | undefined;
  const key = (): Promise<Bytes> =>
    (secret ??= (async () => {
      const stored = await slot.load();
      if (stored) {
        if (stored.length !== 32) throw new Error('keystore: the stored device key is damaged');
        return stored;
      }
      const fresh = random.bytes(32);
      await slot.create(fresh);
      return fresh;
    })().catch((error: unknown) => {
      secret = undefined; // a failed first attempt (power cut, full disk) may be retried
      throw error;
    }));
  return {
    async publicKey() {
      const secretKey = await key();
      return { kind: 'ed25519', key: (await curve()).getPublicKey(secretKey) };
    },
    async sign(message: Bytes) {
      if (!(message instanceof Uint8Array)) throw new TypeError('keystore.sign: message must be a Uint8Array');
      const secretKey = await key();
      return (await curve()).sign(message, secretKey);
    },
  };
}
