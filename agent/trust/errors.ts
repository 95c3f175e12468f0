/**
 * Every way trust verification can refuse something, as one code. Families map a code to their own
 * report (a FUMO result code, a pull-model status); the message says what, never a key or secret.
 */
export type TrustCode =
  | 'malformed' // not JSON, not canonical-JSON-able, or not the shape of a TUF role
  | 'tooLarge' // over a size, depth or count bound (endless data)
  | 'badSignature' // fewer valid signatures than the role's threshold
  | 'wrongRole' // `_type` is not the role asked for
  | 'rollback' // a metadata version lower than the trusted one
  | 'versionMismatch' // a version other than the one the referring role names (mix-and-match)
  | 'hashMismatch' // metadata bytes do not match the hash or length a referring role names
  | 'expired' // expiry before the trusted clock (freeze attack)
  | 'missingRole' // a step run before the role it depends on
  | 'unknownTarget' // an artifact no targets entry names (arbitrary package)
  | 'lengthMismatch' // artifact length differs from the signed length
  | 'digestMismatch' // artifact SHA-256 differs from the signed digest
  | 'hardware' // the signed hardware compatibility list does not name this device
  | 'downgrade' // a version below the persisted minimum, without signed permission
  | 'unsignedCommand' // a post-install command that does not come from signed metadata
  | 'badVersion'; // a version string the comparison does not understand

export class TrustError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly name: 'TrustError';
  declare readonly code: TrustCode;

  constructor(code: TrustCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TrustError';
    this.code = code;
  }
}

export const isTrustError = (error: unknown): error is TrustError => error instanceof TrustError;
