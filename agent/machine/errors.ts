/** Posting an event the current state has no transition for is a bug in a handler or the table. */
export class UnhandledEventError extends Error {
  readonly code = 'unhandledEvent';
  readonly state: string;
  readonly event: string;
  constructor(table: string, state: string, event: string) {
    super(`state table ${table}: state ${state} has no transition for event ${String(event)}`);
    this.name = 'UnhandledEventError';
    this.state = state;
    this.event = event;
  }
}

/** A persisted record that belongs to another table or version, or does not decode. */
export class MachineRecordError extends Error {
  readonly code = 'badRecord';
  constructor(key: string, message: string) {
    super(`machine record ${key}: ${message}`);
    this.name = 'MachineRecordError';
  }
}
