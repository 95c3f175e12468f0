import { PowerCutError } from '../errors.ts';

/**
 * The mock's power switch, shared by every facet that persists something (flash, staging, boot
 * control). Like MCUboot's simulator: count every mutating operation, and `cutAfter(n)` lets the
 * n-th one from now land only partially and fail; from then on every call on the device fails
 * until the hardware reboots.
 */
export class PowerCut {
  /** Mutating operations counted since construction (writes, erases, syncs). */
  operations = 0;
  /**
   * How much of the interrupted operation lands, 0–1 (default half). 1 models a write that
   * completed but whose caller never learned it; 0 one that never started.
   */
  landFraction = 0.5;
  #cutAt: number | undefined;
  #isCut = false;

  get isCut(): boolean {
    return this.#isCut;
  }

  /** The n-th (1-based) mutating operation from now is interrupted. */
  cutAfter(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`cutAfter expects a positive integer, got ${n}`);
    this.#cutAt = this.operations + n;
  }

  /** Cancels a pending cut (the power stays on). */
  cancel(): void {
    this.#cutAt = undefined;
  }

  /** Throws when the power is already off. Every operation, reads included, calls this first. */
  check(operation: string): void {
    if (this.#isCut) throw new PowerCutError(operation);
  }

  /**
   * Counts a mutating operation. Returns true when this one is cut: the caller lands its partial
   * effect and then calls `fail()`.
   */
  tick(operation: string): boolean {
    this.check(operation);
    this.operations++;
    if (this.#cutAt !== undefined && this.operations >= this.#cutAt) {
      this.#cutAt = undefined;
      this.#isCut = true;
      return true;
    }
    return false;
  }

  fail(operation: string): never {
    throw new PowerCutError(operation);
  }

  /** Power comes back (the hardware reboots). */
  restore(): void {
    this.#isCut = false;
  }
}
