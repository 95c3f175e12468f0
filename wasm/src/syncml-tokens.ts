/**
 * The SyncML token stream: the contract between the tokenizer (XML and WBXML, WASM engine and its
 * identical-output JS fallback) and the typed message model (agent/syncml/) that is built from it.
 *
 * Elements are named by their WBXML code (code page << 8 | token, WBXML 1.3 §5.8.2 numbering from
 * the SyncML 1.2 / MetInf DTD code pages), for XML too: the XML tokenizer maps local names onto the
 * same codes, so both formats produce the same stream for the same document and the model builder
 * has one input shape.
 * - WBXML: every tag is page << 8 | token, whatever the page (a SyncML document only uses pages 0
 *   and 1; a nested document inside OPAQUE, e.g. a DM-DDF tree, is *not* tokenized: the model sees
 *   its bytes as one Opaque token and may tokenize that span itself, reading its own public id from
 *   the nested header). LITERAL tags (names from the string table) get TAG_UNKNOWN.
 * - XML: local names (after any prefix) of the SyncML and MetInf pages get their code, whatever
 *   namespace is declared (real messages omit or misspell it); every other name gets TAG_UNKNOWN,
 *   e.g. raw DDF or vendor elements inside <Data>.
 *
 * A stream is a flat Int32Array of records of RECORD_WORDS words: [kind, tag, start, end].
 * `start`/`end` are byte offsets into the *input* (the document that was tokenized), so text is
 * never copied by the tokenizer and every token can name its offset in an error; the model builder
 * decodes the spans it needs (agent/syncml/text.ts).
 */

/** Words per token record. */
export const RECORD_WORDS = 4;

export const enum TokenKind {
  /**
   * Element start. tag = element code. [start,end): XML — the element's local name (the `<` is the
   * last `<` before start); WBXML — the tag byte, or for a LITERAL tag the name in the string table.
   */
  Open = 1,
  /**
   * Element end, also emitted for empty elements. tag = the code of the element it closes.
   * [start,end): XML — the end tag `</Name>`, or the `/>` of an empty-element tag; WBXML — the END
   * byte, or an empty span just after the tag byte of a tag without content.
   */
  Close = 2,
  /**
   * Character data [start,end) of the input, never empty. tag = TEXT_* flags. XML: the raw bytes
   * between two markup items, whitespace included and kept exactly (no line-end normalisation); a
   * comment or processing instruction splits the text into two tokens. WBXML: an STR_I string or the
   * string-table string an STR_T points at (the span points into the table), NUL excluded.
   */
  Text = 3,
  /** Opaque bytes [start,end): WBXML OPAQUE (tag OPAQUE_WBXML) or an XML CDATA body (tag OPAQUE_CDATA). May be empty. */
  Opaque = 4,
  /** One character given by code point: WBXML ENTITY (tag = the code point; [start,end) = the ENTITY token and its mb_u_int32). */
  Char = 5,
}

/** Text tag flags. TEXT_RAW: the span holds `&` (XML only), so decode references (agent/syncml/text.ts). */
export const TEXT_RAW = 1;
/** Text tag flag: the span is only XML whitespace (space, tab, CR, LF): indentation between elements, to skip outside leaf elements. */
export const TEXT_SPACE = 2;
/** Text tag value with neither flag: plain UTF-8 to decode as is. */
export const TEXT_PLAIN = 0;
/** Opaque tags: WBXML OPAQUE vs XML CDATA. */
export const OPAQUE_WBXML = 0;
export const OPAQUE_CDATA = 1;

/** Outside every page << 8 | token value, so no WBXML tag can collide with it. */
export const TAG_UNKNOWN = 0x10000;

export const PAGE_SYNCML = 0;
export const PAGE_METINF = 1;

// Each table is one string split at load rather than an array literal: every string literal in
// code is an atom in a QuickJS heap, and 74 more atoms pushed the OMA DM cycle past a growth step
// of the runtime's atom array (+4.7 KB of empty slots: QuickJS grows it by half when it is full).
/** SyncML code page 0 (SyncML 1.1/1.2), tokens 0x05… in this order. */
export const SYNCML_TAGS: readonly string[] = (
  'Add Alert Archive Atomic Chal Cmd CmdID CmdRef Copy Cred Data Delete Exec Final Get Item Lang LocName ' +
  'LocURI Map MapItem Meta MsgID MsgRef NoResp NoResults Put Replace RespURI Results Search Sequence SessionID ' +
  'SftDel Source SourceRef Status Sync SyncBody SyncHdr SyncML Target TargetRef Reserved VerDTD VerProto ' +
  'NumberOfChanges MoreData Field Filter Record FilterType SourceParent TargetParent Move Correlator'
).split(' ');

/** MetInf code page 1, tokens 0x05… in this order. */
export const METINF_TAGS: readonly string[] = (
  'Anchor EMI Format FreeID FreeMem Last Mark MaxMsgSize Mem MetInf Next NextNonce SharedMem Size Type ' +
  'Version MaxObjSize FieldLevel'
).split(' ');

export const FIRST_TOKEN = 0x05;

/**
 * Codes of the frame elements the encoder and the model builder write or expect by name, as
 * numbers (SyncML page, FIRST_TOKEN + their index in SYNCML_TAGS; a test checks them against
 * codeForName): a `const enum` inlined where used, not module constants computed at load.
 */
export const enum FrameCode {
  Final = 0x12,
  SyncBody = 0x2b,
  SyncHdr = 0x2c,
  SyncML = 0x2d,
}

export function tagCode(page: number, token: number): number {
  return (page << 8) | token;
}

/** Element name for a code, or undefined for codes outside both pages. */
export function tagName(code: number): string | undefined {
  const page = code >> 8;
  const index = (code & 0xff) - FIRST_TOKEN;
  const table = page === PAGE_SYNCML ? SYNCML_TAGS : page === PAGE_METINF ? METINF_TAGS : undefined;
  return index >= 0 ? table?.[index] : undefined;
}

/** No name exists on both pages, so a local name alone gives the code. */
const BY_NAME: ReadonlyMap<string, number> = new Map([
  ...SYNCML_TAGS.map((name, i) => [name, tagCode(PAGE_SYNCML, FIRST_TOKEN + i)] as const),
  ...METINF_TAGS.map((name, i) => [name, tagCode(PAGE_METINF, FIRST_TOKEN + i)] as const),
]);

export function codeForName(localName: string): number {
  return BY_NAME.get(localName) ?? TAG_UNKNOWN;
}

/** WBXML public ids of SyncML (WBXML 1.3 §7.2 registry); the version is VerDTD's, not this. */
export const PUBLIC_ID_SYNCML_11 = 0x0fd3;
export const PUBLIC_ID_SYNCML_12 = 0x1201;
/** IANA MIBenum of UTF-8, the charset of every XML input and of most WBXML. */
export const CHARSET_UTF8 = 106;

export type SyncmlFormat = 'xml' | 'wbxml';

/** Document header facts the tokenizer saw; the model decides what they mean. */
export interface SyncmlHeader {
  /** WBXML version byte (1, 2, 3 for 1.1–1.3); 0 for XML. */
  wbxmlVersion: number;
  /** WBXML numeric public id (e.g. PUBLIC_ID_SYNCML_12); 0 when given as a string, or for XML. */
  publicId: number;
  /**
   * Span of the public id string: WBXML — the string-table entry the header points at (up to its
   * NUL or the table's end: AOSP writes it without a NUL); XML — the DOCTYPE PUBLIC literal without
   * quotes. start = end = 0 when absent.
   */
  publicIdStart: number;
  publicIdEnd: number;
  /** IANA MIBenum: the WBXML charset field (0 = unknown, 3 = US-ASCII, 106 = UTF-8); 106 for XML. */
  charset: number;
}

export interface SyncmlTokens extends SyncmlHeader {
  format: SyncmlFormat;
  /** count * RECORD_WORDS words, exactly (a fresh array the caller owns). */
  tokens: Int32Array;
  count: number;
}

export interface SyncmlTokenizeOptions {
  /** 'auto' (default) detects by the first byte: WBXML versions 1–3, else XML. */
  format?: SyncmlFormat | 'auto';
  /**
   * Strict: well-formed XML only (references checked, `--` in comments refused, XML declaration
   * only at the start) and WBXML without trailing bytes or unterminated string-table strings.
   * Lenient (default): accepts the defects of real messages in the conformance corpus — a bare `&`
   * (kept as text), a comment closed by `--!>`, `--` inside comments, bytes after the WBXML root.
   */
  strict?: boolean;
  /** Default DEFAULT_LIMITS.maxBytes; larger input is refused before anything is read. */
  maxBytes?: number;
  /** Element nesting depth; default DEFAULT_LIMITS.maxDepth. */
  maxDepth?: number;
  /** Token records; default DEFAULT_LIMITS.maxTokens. */
  maxTokens?: number;
}

export const DEFAULT_LIMITS = {
  maxBytes: 4 * 1024 * 1024,
  maxDepth: 64,
  maxTokens: 1 << 20,
} as const;
/** Hard ceilings of the options (offsets are i32; the depth stack is a fixed region in WASM). */
export const MAX_LIMITS = {
  maxBytes: 0x40000000,
  maxDepth: 4096,
  maxTokens: 1 << 26,
} as const;
