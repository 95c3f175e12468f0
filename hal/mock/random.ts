/**
 * Deterministic "random" bytes for the mock (sfc32 seeded from one integer), so a failing test
 * replays identically. Not cryptographic — fine for a simulator, never for a device. The state
 * lives in the hardware, so two boots do not repeat each other's nonces.
 */
import { requireInteger } from '../shared/validate.ts';
import type { Random } from '../types.ts';

export const MAX_RANDOM_BYTES = 1024 * 1024;

export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = seed >>> 0;
    // Discard the first outputs: sfc32 starts poorly mixed.
    for (let i = 0; i < 15; i++) this.next();
  }

  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  facet(): Random {
    return {
      bytes: (length: number) => {
        requireInteger(length, 'random.bytes: length', 0, MAX_RANDOM_BYTES);
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i += 4) {
          const word = this.next();
          for (let k = 0; k < 4 && i + k < length; k++) out[i + k] = (word >>> (8 * k)) & 0xff;
        }
        return out;
      },
    };
  }
}
