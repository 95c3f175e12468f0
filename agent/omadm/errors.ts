/** Typed errors of the OMA DM client. Messages never carry credentials or nonces. */
export type OmaDmErrorCode =
  | 'notification' // package #0 malformed
  | 'digest' // package #0 digest does not verify
  | 'replay' // package #0 seen before
  | 'unknownServer' // no DMAcc account for the server id
  | 'protocol' // the server's message breaks the protocol
  | 'auth' // authentication failed for good
  | 'transport' // HTTP failed after the retries
  | 'tree' // bad tree operation (path, format)
  | 'config'; // bad configuration

export class OmaDmError extends Error {
  // Declared and set in the constructor, not class fields: a class with fields gets one more function (their initializer) in a QuickJS heap.
  declare readonly code: OmaDmErrorCode;

  constructor(code: OmaDmErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'OmaDmError';
  }
}

/** A tree operation that fails with a DM status code (404, 405, 418, …): becomes that Status. */
export class DmStatusError extends Error {
  declare readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = 'DmStatusError';
  }
}
