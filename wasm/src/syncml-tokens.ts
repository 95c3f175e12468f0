/**
 * The SyncML token stream: the contract between the tokenizer (XML and WBXML, WASM engine and its
 * identical-output JS fallback) and the typed message model (agent/syncml/) that is built from it.
 *
 * Elements are named by their WBXML code (code page << 8 | token, WBXML 1.3 §5.8.2 numbering from
 * the SyncML 1.2 / MetInf DTD code pages), for XML too: the XML tokenizer maps local names onto the
 * same codes, so both formats produce the same stream for the same document and the model builder
 * has one input shape. Names outside both code pages get `TAG_UNKNOWN` (the XML tokenizer keeps their
 * name as a span so lenient callers can carry them, e.g. raw XML inside <Data>).
 *
 * A stream is a flat Int32Array of records of RECORD_WORDS words: [kind, tag, start, end].
 * `start`/`end` are byte offsets into the *input* (the document that was tokenized), so text is
 * never copied by the tokenizer; the model builder decodes the span it needs (UTF-8, entities).
 */

/** Words per token record. */
export const RECORD_WORDS = 4;

export const enum TokenKind {
  /** Element start. tag = element code; [start,end) = the element name in XML (for TAG_UNKNOWN), else 0,0. */
  Open = 1,
  /** Element end (also emitted for empty elements `<Final/>` / WBXML tags without content). tag = code. */
  Close = 2,
  /** Character data, raw bytes [start,end) of the input: XML text that may hold entity and numeric references (decode them), or a WBXML STR_I / STR_T string (already plain UTF-8). tag = TEXT_RAW or TEXT_PLAIN. */
  Text = 3,
  /** Opaque bytes [start,end) of the input: WBXML OPAQUE (binary data, or a nested WBXML document) or an XML CDATA section body (tag = 1 for CDATA, 0 for WBXML OPAQUE). */
  Opaque = 4,
  /** One character given by code point: WBXML ENTITY (tag = the code point; start = end = offset). */
  Char = 5,
}

/** Text tags: whether the span still holds XML references (`&amp;`, `&#38;`) to decode. */
export const TEXT_PLAIN = 0;
export const TEXT_RAW = 1;
/** Opaque tags: CDATA (XML) vs OPAQUE (WBXML). */
export const OPAQUE_WBXML = 0;
export const OPAQUE_CDATA = 1;

export const TAG_UNKNOWN = 0xffff;

export const PAGE_SYNCML = 0;
export const PAGE_METINF = 1;

/** SyncML code page 0 (SyncML 1.1/1.2), tokens 0x05… in this order. */
export const SYNCML_TAGS = [
  'Add', 'Alert', 'Archive', 'Atomic', 'Chal', 'Cmd', 'CmdID', 'CmdRef', 'Copy', 'Cred', 'Data', 'Delete',
  'Exec', 'Final', 'Get', 'Item', 'Lang', 'LocName', 'LocURI', 'Map', 'MapItem', 'Meta', 'MsgID', 'MsgRef',
  'NoResp', 'NoResults', 'Put', 'Replace', 'RespURI', 'Results', 'Search', 'Sequence', 'SessionID', 'SftDel',
  'Source', 'SourceRef', 'Status', 'Sync', 'SyncBody', 'SyncHdr', 'SyncML', 'Target', 'TargetRef',
  'Reserved', 'VerDTD', 'VerProto', 'NumberOfChanges', 'MoreData', 'Field', 'Filter', 'Record',
  'FilterType', 'SourceParent', 'TargetParent', 'Move', 'Correlator',
] as const;

/** MetInf code page 1, tokens 0x05… in this order. */
export const METINF_TAGS = [
  'Anchor', 'EMI', 'Format', 'FreeID', 'FreeMem', 'Last', 'Mark', 'MaxMsgSize', 'Mem', 'MetInf', 'Next',
  'NextNonce', 'SharedMem', 'Size', 'Type', 'Version', 'MaxObjSize', 'FieldLevel',
] as const;

export const FIRST_TOKEN = 0x05;

export function tagCode(page: number, token: number): number {
  return (page << 8) | token;
}

/** Element name for a code, or undefined for codes outside both pages. */
export function tagName(code: number): string | undefined {
  const page = code >> 8;
  const index = (code & 0xff) - FIRST_TOKEN;
  const table: readonly string[] = page === PAGE_SYNCML ? SYNCML_TAGS : page === PAGE_METINF ? METINF_TAGS : [];
  return index >= 0 ? table[index] : undefined;
}

/**
 * Code for an XML local name. `Meta` children are MetInf elements (they may carry xmlns='syncml:metinf'
 * or not); the tokenizer resolves the page by name, preferring the MetInf page for names that exist
 * only there. No name exists on both pages.
 */
const BY_NAME: ReadonlyMap<string, number> = new Map([
  ...SYNCML_TAGS.map((name, i) => [name, tagCode(PAGE_SYNCML, FIRST_TOKEN + i)] as const),
  ...METINF_TAGS.map((name, i) => [name, tagCode(PAGE_METINF, FIRST_TOKEN + i)] as const),
]);

export function codeForName(localName: string): number {
  return BY_NAME.get(localName) ?? TAG_UNKNOWN;
}
