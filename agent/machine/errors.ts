export type MachineErrorCode = 'badTable' | 'unhandledEvent' | 'badRecord';

/**
 * Every error of the state-machine engine, one class (in a QuickJS heap each class costs ~440 B for
 * the agent's life, the engine is loaded by every cycle); `code` tells them apart:
 *  - `badTable`: a table that cannot run (a bug: ./table.ts `validateTable`);
 *  - `unhandledEvent`: a handler posted an event its state has no transition for (a bug in a
 *    handler or the table); `state` and `event` name it;
 *  - `badRecord`: a persisted record that belongs to another table or version, or does not decode.
 * `name` is the one each had as a class of its own, and those names stay exported (./index.ts), so
 * logs, callers and tests read as before; `code` is what to branch on.
 */
export class MachineError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: MachineErrorCode;
  declare readonly state?: string;
  declare readonly event?: string;
  /** `subject`: the table's name (`badTable`, `unhandledEvent`) or the record's store key (`badRecord`). */
  constructor(code: MachineErrorCode, subject: string, message: string, state?: string, event?: string) {
    super(`${code === 'badRecord' ? 'machine record' : 'state table'} ${subject}: ${message}`);
    this.code = code;
    this.name = code === 'badTable' ? 'MachineTableError' : code === 'badRecord' ? 'MachineRecordError' : 'UnhandledEventError';
    if (state !== undefined) {
      this.state = state;
      this.event = event;
    }
  }
}

// The names the errors had as classes of their own (one class now: `code` tells them apart).
export { MachineError as MachineTableError, MachineError as UnhandledEventError, MachineError as MachineRecordError };
