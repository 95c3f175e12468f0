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
  constructor(readonly code: OmaDmErrorCode, message: string) {
    super(message);
    this.name = 'OmaDmError';
  }
}

/** A tree operation that fails with a DM status code (404, 405, 418, …): becomes that Status. */
export class DmStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'DmStatusError';
  }
}
