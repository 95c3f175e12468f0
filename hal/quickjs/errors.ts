/** Errors of the QuickJS host (host side: the guest sees HAL errors only). */

/** The guest heap grew past the board's `memoryBudgetBytes` (checked after every job). */
export class QuickJsMemoryError extends Error {
  readonly code = 'memoryBudget';
  constructor(
    readonly usedBytes: number,
    readonly budgetBytes: number,
  ) {
    super(`QuickJS guest heap ${usedBytes} bytes exceeds the board budget of ${budgetBytes} bytes`);
    this.name = 'QuickJsMemoryError';
  }
}

/** The guest could not be loaded or broke the bridge protocol. */
export class QuickJsGuestError extends Error {
  readonly code = 'guest';
  constructor(message: string) {
    super(message);
    this.name = 'QuickJsGuestError';
  }
}
