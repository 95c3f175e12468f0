/**
 * Users of a device (seeds 002/003: a desk phone someone signs in to), shared by the mock and the
 * Node HAL: the host (a test, the phone's UI) calls `signIn()` / `signOut()`; the running boot's
 * listeners hear sign-ins. Whether anyone ever signed in survives reboots: the mock keeps it on
 * the hardware, the Node HAL in a marker file (`onFirstSignIn`). The password is never persisted.
 */
import { InvalidOptionsError } from '../errors.ts';
import type { SignedInUser, Users } from '../types.ts';
import { requireString } from './validate.ts';

export class UserState {
  current: SignedInUser | undefined;
  everSignedIn = false;
  #listeners = new Set<(name: string) => void>();
  readonly #onFirstSignIn: (() => void) | undefined;

  constructor(options: { everSignedIn?: boolean; onFirstSignIn?: () => void } = {}) {
    this.everSignedIn = options.everSignedIn === true;
    this.#onFirstSignIn = options.onFirstSignIn;
  }

  signIn(name: string, password: string): void {
    const user = { name: requireString(name, 'signIn: name'), password: requireString(password, 'signIn: password') };
    this.current = user;
    if (!this.everSignedIn) this.#onFirstSignIn?.();
    this.everSignedIn = true;
    for (const listener of [...this.#listeners]) listener(user.name);
  }

  signOut(): void {
    this.current = undefined;
  }

  /** A new boot: listeners of the old one are gone. */
  resetListeners(): void {
    this.#listeners = new Set();
  }

  facet(): Users {
    const listeners = this.#listeners;
    return {
      current: async () => (this.current ? { ...this.current } : undefined),
      everSignedIn: async () => this.everSignedIn,
      onSignIn: (listener) => {
        if (typeof listener !== 'function') throw new InvalidOptionsError('onSignIn: listener must be a function');
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
  }
}
