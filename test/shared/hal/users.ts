/** Shared suite: the `users` facet (sign-in, ever signed in across reboots) and `net.info()` (location, DHCP domain). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../hal/errors.ts';
import type { HalFixture, HalTarget } from './fixture.ts';

export function describeUsersSuite(fixture: HalFixture): void {
  describe(`users and network info (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('nobody is signed in at first; a sign-in is heard (name only) and remembered across a reboot', async () => {
      const users = target.device.users!;
      expect(await users.current()).toBeUndefined();
      expect(await users.everSignedIn()).toBe(false);
      const heard: string[] = [];
      const off = users.onSignIn((name) => heard.push(name));
      target.signIn('alice', 's3cret');
      expect(heard).toEqual(['alice']);
      expect(await users.current()).toEqual({ name: 'alice', password: 's3cret' });
      off();
      target.signIn('bob', 'x');
      expect(heard).toEqual(['alice']);
      const device = await target.reboot();
      expect(await device.users!.everSignedIn()).toBe(true);
      expect(() => device.users!.onSignIn(undefined as unknown as () => void)).toThrow(InvalidOptionsError);
    });

    it('net.info() reports where the device is', async () => {
      target.setLocation('outside');
      expect(await target.device.net.info!()).toMatchObject({ location: 'outside' });
      target.setLocation('inside');
      expect(await target.device.net.info!()).toMatchObject({ location: 'inside' });
    });
  });
}
