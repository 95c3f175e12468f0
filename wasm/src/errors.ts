/**
 * Typed errors of the engines. Callers branch on `instanceof` or `code`, never on message text.
 */

export type DiffSide = 'installed' | 'desired';

/** A diff input was rejected before anything was computed. */
// The errors' fields are declared and set in their constructors, not class fields: each class's
// field initializer is one more function in a QuickJS heap (these classes are in every agent's core).
export class DiffInputError extends Error {
  declare readonly code: 'duplicateName' | 'invalidEntry';
  declare readonly side: DiffSide;
  /** Index of the offending entry in the caller's array; -1 when the list itself is not an array. */
  declare readonly index: number;
  /** For `duplicateName`: the name that occurs twice. */
  declare readonly packageName: string | undefined;

  constructor(code: 'duplicateName' | 'invalidEntry', side: DiffSide, index: number, message: string, packageName?: string) {
    super(message);
    this.code = code;
    this.side = side;
    this.index = index;
    this.packageName = packageName;
    this.name = 'DiffInputError';
  }
}

export type HashErrorCode =
  | 'invalidState' // exportState bytes that are corrupt, from another format version or algorithm
  | 'finished' // a call after digest()
  | 'invalidInput' // not a Uint8Array, or an unknown algorithm
  | 'cannotExport'; // exportState() on a native hash (the host's engine keeps its state to itself)

export class HashError extends Error {
  declare readonly code: HashErrorCode;
  constructor(code: HashErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'HashError';
  }
}

export type EngineErrorCode =
  | 'wasmUnavailable' // engine 'wasm' forced without a WasmHost
  | 'wasmFailed' // the host could not provide or instantiate a module
  | 'nativeUnavailable' // engine 'native' forced without a DigestHost
  | 'invalidOptions';

export class EngineError extends Error {
  declare readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.code = code;
    this.name = 'EngineError';
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * SyncML tokenizer errors (wasm/src/syncml-*.ts). Both engines report the same code and offset for
 * the same input; the WASM module returns the code's index in SYNCML_ERROR_CODES (+1).
 */
export const SYNCML_ERROR_CODES = [
  'tooLarge', // input longer than maxBytes (offset = maxBytes)
  'tooDeep', // element nesting beyond maxDepth (offset = the element's start)
  'tooManyTokens', // more than maxTokens records (offset = the token's start)
  'unexpectedEnd', // truncated: an open element, comment, string, … at the end (offset = input length)
  'malformed', // syntax error
  'mismatchedTag', // XML end tag that does not close the open element
  'badReference', // strict XML: `&` that is not one of the five entities or a valid numeric reference
  'badComment', // strict XML: `--` inside a comment (including the `--!>` ending)
  'unknownFormat', // neither XML nor WBXML 1.1–1.3 by its first byte
  'badHeader', // WBXML header unreadable
  'unsupportedCharset', // WBXML charset whose strings are not NUL-terminated bytes (e.g. UTF-16)
  'badStringRef', // WBXML string-table index outside the table (or, strict, an unterminated string)
  'wbxmlAttributes', // WBXML attributes: SyncML has none
  'unsupportedToken', // WBXML extension tokens and processing instructions
  'trailingData', // strict: bytes after the root element
] as const;

export type SyncmlErrorCode = (typeof SYNCML_ERROR_CODES)[number];

/** What each code means, in SYNCML_ERROR_CODES order (an array: its strings without a key each). */
const SYNCML_ERROR_TEXT: readonly string[] = [
  'message larger than the maxBytes limit', // tooLarge
  'elements nested deeper than the maxDepth limit', // tooDeep
  'more tokens than the maxTokens limit', // tooManyTokens
  'message ends inside an element, string or markup', // unexpectedEnd
  'malformed markup', // malformed
  'end tag does not match the open element', // mismatchedTag
  'invalid entity or character reference', // badReference
  "'--' inside an XML comment", // badComment
  'neither SyncML XML nor WBXML 1.1-1.3', // unknownFormat
  'invalid WBXML header', // badHeader
  'unsupported WBXML charset', // unsupportedCharset
  'invalid WBXML string-table reference', // badStringRef
  'WBXML attributes are not used by SyncML', // wbxmlAttributes
  'unsupported WBXML token (extension or processing instruction)', // unsupportedToken
  'bytes after the root element', // trailingData
];

export class SyncmlError extends Error {
  declare readonly code: SyncmlErrorCode;
  /** Byte offset in the input where the problem was found. */
  declare readonly offset: number;
  declare readonly format: 'xml' | 'wbxml' | undefined;
  constructor(code: SyncmlErrorCode, offset: number, format?: 'xml' | 'wbxml') {
    super(`${format === undefined ? 'SyncML' : format === 'xml' ? 'SyncML XML' : 'SyncML WBXML'}: ${SYNCML_ERROR_TEXT[SYNCML_ERROR_CODES.indexOf(code)]} at byte ${offset}`);
    this.code = code;
    this.offset = offset;
    this.format = format;
    this.name = 'SyncmlError';
  }
}
