/**
 * Typed errors of the SyncML codec. Callers branch on `code`; `offset` is the byte offset in the
 * input the problem was found at (-1 for encoder errors, which have no input).
 */
export type SyncmlModelErrorCode =
  | 'unknownElement' // strict: an element the model has no place for
  | 'unexpectedText' // strict: text where only elements belong
  | 'badReference' // strict: an undefined or malformed XML entity / character reference
  | 'badStructure' // the token stream does not nest (root not SyncML, unbalanced tags)
  | 'badInput' // not XML nor WBXML, or an argument of the wrong type
  | 'budget'; // an encoder budget cannot hold even the message frame

export class SyncmlModelError extends Error {
  // Declared and set in the constructor, not class fields: a class with fields gets one more function (their initializer) in a QuickJS heap.
  declare readonly code: SyncmlModelErrorCode;
  declare readonly offset: number;

  constructor(code: SyncmlModelErrorCode, offset: number, message: string) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message);
    this.name = 'SyncmlModelError';
    this.code = code;
    this.offset = offset;
  }
}
