/**
 * SyncML WBXML tokenizer (WBXML 1.1–1.3), JS engine: one pass, no strings. Emits the records of
 * syncml-tokens.ts; wasm/assembly/syncml-wbxml.ts is the same algorithm and must give the same
 * output (records, header, error code and offset) for every input — change both together.
 *
 * String-table references are resolved to spans of the input, so the model never sees the table.
 * SyncML has no attributes, extensions or processing instructions: they are refused (typed error)
 * rather than skipped, so nothing is silently dropped.
 */
import { SyncmlError, type SyncmlErrorCode } from './errors.ts';
import type { Limits, TokenOut } from './syncml-out.ts';
import { OPAQUE_WBXML, TAG_UNKNOWN, TEXT_SPACE, TokenKind, type SyncmlHeader } from './syncml-tokens.ts';

const SWITCH_PAGE = 0x00;
const END = 0x01;
const ENTITY = 0x02;
const STR_I = 0x03;
const LITERAL = 0x04;
const LITERAL_C = 0x44;
const STR_T = 0x83;
const OPAQUE = 0xc3;
const PI = 0x43;

function fail(code: SyncmlErrorCode, offset: number): never {
  throw new SyncmlError(code, offset, 'wbxml');
}

/** Charsets whose strings end with one NUL byte: unknown (taken as UTF-8), US-ASCII, ISO-8859-1, UTF-8. */
function byteCharset(mib: number): boolean {
  return mib === 0 || mib === 3 || mib === 4 || mib === 106;
}

/** TEXT_SPACE when b[start, end) is only XML whitespace (never for an empty span: callers skip those). */
function spaceFlag(b: Uint8Array, start: number, end: number): number {
  for (let k = start; k < end; k++) {
    const c = b[k] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return 0;
  }
  return TEXT_SPACE;
}

export function tokenizeWbxmlJs(b: Uint8Array, limits: Limits, out: TokenOut): SyncmlHeader {
  const { strict, maxDepth } = limits;
  const n = b.length;
  let i = 0;

  /** mb_u_int32 at i (WBXML §5.1), advancing i; values above 2^31 - 1 cannot be offsets or code points: malformed. */
  const mb = (): number => {
    const at = i;
    let value = 0;
    for (;;) {
      if (i >= n) fail('unexpectedEnd', n);
      const c = b[i++] as number;
      value = value * 128 + (c & 0x7f);
      if (value > 0x7fffffff) fail('malformed', at);
      if (c < 0x80) return value;
    }
  };

  if (n === 0) fail('unexpectedEnd', 0);
  const version = b[0] as number;
  if (version < 1 || version > 3) fail('badHeader', 0);
  i = 1;
  const header: SyncmlHeader = { wbxmlVersion: version, publicId: 0, publicIdStart: 0, publicIdEnd: 0, charset: 0 };
  header.publicId = mb();
  const literalAt = i;
  const literalIndex = header.publicId === 0 ? mb() : -1;
  const charsetAt = i;
  header.charset = mb();
  if (!byteCharset(header.charset)) fail('unsupportedCharset', charsetAt);
  const tableLength = mb();
  const table = i;
  if (tableLength > n - table) fail('unexpectedEnd', n);
  const tableEnd = table + tableLength;

  /** End (the NUL) of the table string at index, from offset `at` of the reference. */
  const tableString = (index: number, at: number): number => {
    if (index >= tableLength) fail('badStringRef', at);
    const nul = b.indexOf(0, table + index);
    if (nul >= 0 && nul < tableEnd) return nul;
    if (strict) fail('badStringRef', at);
    return tableEnd;
  };

  if (literalIndex >= 0) {
    // The AOSP engine writes this one without its NUL, in both modes.
    if (literalIndex >= tableLength) fail('badStringRef', literalAt);
    const nul = b.indexOf(0, table + literalIndex);
    header.publicIdStart = table + literalIndex;
    header.publicIdEnd = nul >= 0 && nul < tableEnd ? nul : tableEnd;
  }
  i = tableEnd;

  const codes = new Int32Array(maxDepth);
  let page = 0;
  let depth = 0;
  let rootSeen = false;
  while (i < n) {
    const at = i;
    const t = b[i++] as number;
    switch (t) {
      case SWITCH_PAGE:
        if (i >= n) fail('unexpectedEnd', n);
        page = b[i++] as number;
        break;
      case END:
        if (depth === 0) fail('malformed', at);
        depth--;
        out.push(TokenKind.Close, codes[depth] as number, at, i);
        break;
      case ENTITY: {
        if (depth === 0) fail('malformed', at);
        const cp = mb();
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('malformed', at);
        out.push(TokenKind.Char, cp, at, i);
        break;
      }
      case STR_I: {
        if (depth === 0) fail('malformed', at);
        const nul = b.indexOf(0, i);
        if (nul < 0) fail('unexpectedEnd', n);
        if (nul > i) out.push(TokenKind.Text, spaceFlag(b, i, nul), i, nul);
        i = nul + 1;
        break;
      }
      case STR_T: {
        if (depth === 0) fail('malformed', at);
        const start = table + mb();
        const end = tableString(start - table, at);
        if (end > start) out.push(TokenKind.Text, spaceFlag(b, start, end), start, end);
        break;
      }
      case OPAQUE: {
        if (depth === 0) fail('malformed', at);
        const length = mb();
        if (length > n - i) fail('unexpectedEnd', n);
        out.push(TokenKind.Opaque, OPAQUE_WBXML, i, i + length);
        i += length;
        break;
      }
      default: {
        if (t === PI || (t >= 0x40 && t <= 0x42) || (t >= 0x80 && t <= 0x82) || (t >= 0xc0 && t <= 0xc2)) fail('unsupportedToken', at);
        if ((t & 0x80) !== 0) fail('wbxmlAttributes', at); // includes LITERAL_A / LITERAL_AC
        if (depth === 0 && rootSeen) fail('malformed', at); // a second root element
        if (depth === maxDepth) fail('tooDeep', at);
        let code: number;
        if (t === LITERAL || t === LITERAL_C) {
          const start = table + mb();
          const end = tableString(start - table, at);
          if (end === start) fail('badStringRef', at);
          code = TAG_UNKNOWN;
          out.push(TokenKind.Open, code, start, end);
        } else {
          code = (page << 8) | (t & 0x3f);
          out.push(TokenKind.Open, code, at, i);
        }
        rootSeen = true;
        if ((t & 0x40) !== 0) codes[depth++] = code;
        else out.push(TokenKind.Close, code, i, i);
      }
    }
    if (depth === 0 && rootSeen) break;
  }
  if (depth > 0 || !rootSeen) fail('unexpectedEnd', n);
  if (strict && i < n) fail('trailingData', i);
  return header;
}
