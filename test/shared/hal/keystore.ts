/** Shared suite: the `keystore` facet — one device key per device, kept across reboots, signatures verify. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { HalFixture, HalTarget } from './fixture.ts';

export function describeKeystoreSuite(fixture: HalFixture): void {
  describe(`keystore (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('creates one Ed25519 key at first use and signs with it', async () => {
      const keystore = target.device.keystore!;
      expect(keystore).toBeDefined();
      const { kind, key } = await keystore.publicKey();
      expect(kind).toBe('ed25519');
      expect(key.length).toBe(32);
      const message = new TextEncoder().encode('auth request');
      const signature = await keystore.sign(message);
      expect(ed25519.verify(signature, message, key)).toBe(true);
      expect(ed25519.verify(signature, new TextEncoder().encode('other'), key)).toBe(false);
      expect((await keystore.publicKey()).key).toEqual(key);
    });

    it('keeps the same key across a reboot', async () => {
      const before = (await target.device.keystore!.publicKey()).key;
      const device = await target.reboot();
      expect((await device.keystore!.publicKey()).key).toEqual(before);
    });

    it('never hands out the secret', async () => {
      const keystore = target.device.keystore! as unknown as Record<string, unknown>;
      expect(Object.keys(keystore).sort()).toEqual(['publicKey', 'sign']);
    });
  });
}
