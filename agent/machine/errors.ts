/** Posting an event the current state has no transition for is a bug in a handler or the table. */
export class UnhandledEventError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'unhandledEvent';
  declare readonly state: string;
  declare readonly event: string;
  constructor(table: string, state: string, event: string) {
    super(`state table ${table}: state ${state} has no transition for event ${String(event)}`);
    this.code = 'unhandledEvent';
    this.state = state;
    this.event = event;
    this.name = 'UnhandledEventError';
  }
}

/** A persisted record that belongs to another table or version, or does not decode. */
export class MachineRecordError extends Error {
  // Declared and set in the constructor, not a class field: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'badRecord';
  constructor(key: string, message: string) {
    super(`machine record ${key}: ${message}`);
    this.code = 'badRecord';
    this.name = 'MachineRecordError';
  }
}
