/**
 * SyncML XML tokenizer, JS engine: one pass over the bytes, no strings, no DOM. Emits the records of
 * syncml-tokens.ts; wasm/assembly/syncml-xml.ts is the same algorithm and must give the same output
 * (records, header, error code and offset) for every input — change both together.
 *
 * Only what SyncML needs is XML here: attributes are checked for syntax and skipped (namespaces
 * are not resolved: names are matched by local name), DOCTYPE is skipped after reading its PUBLIC
 * literal, references are left in the text (TEXT_RAW) for the model (agent/syncml/text.ts) to decode. Text bytes are
 * not checked for UTF-8 validity (the decoder replaces bad sequences).
 */
import { SyncmlError, type SyncmlErrorCode } from './errors.ts';
import { lookupName } from './syncml-names.ts';
import type { Limits, TokenOut } from './syncml-out.ts';
import { OPAQUE_CDATA, TEXT_RAW, TEXT_SPACE, TokenKind, type SyncmlHeader } from './syncml-tokens.ts';

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const DASH = 0x2d;
const RBRACKET = 0x5d;
const EQUALS = 0x3d;
const QUOT = 0x22;
const APOS = 0x27;
const COLON = 0x3a;
const SEMI = 0x3b;
const HASH = 0x23;

function fail(code: SyncmlErrorCode, offset: number): never {
  throw new SyncmlError(code, offset, 'xml');
}

// Byte classes: one table load instead of a chain of compares in the per-byte loops.
const SPACE = 1; // XML whitespace
const ENDS_NAME = 2; // ends a name: ≤ 0x20 and > / = < " '
const STOPS_TEXT = 4; // < and &
const CLASSES = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) CLASSES[c] = SPACE;
  if (c <= 0x20 || c === GT || c === SLASH || c === EQUALS || c === LT || c === QUOT || c === APOS) CLASSES[c] = (CLASSES[c] as number) | ENDS_NAME;
  if (c === LT || c === AMP) CLASSES[c] = (CLASSES[c] as number) | STOPS_TEXT;
}

function isSpace(c: number): boolean {
  return ((CLASSES[c] as number) & SPACE) !== 0;
}

function endsName(c: number): boolean {
  return ((CLASSES[c] as number) & ENDS_NAME) !== 0;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === COLON || c >= 0x80;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2e;
}

function matches(b: Uint8Array, at: number, ascii: string): boolean {
  if (at + ascii.length > b.length) return false;
  for (let k = 0; k < ascii.length; k++) if (b[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i] as number)) i++;
  return i;
}

/** Scans a name from i (strict: XML name characters); returns its end. Empty → malformed. */
function scanName(b: Uint8Array, i: number, strict: boolean): number {
  const n = b.length;
  let q = i;
  while (q < n && !endsName(b[q] as number)) q++;
  if (q === n) fail('unexpectedEnd', n);
  if (q === i) fail('malformed', i);
  if (strict) {
    if (!isNameStart(b[i] as number)) fail('malformed', i);
    for (let k = i + 1; k < q; k++) if (!isNameChar(b[k] as number)) fail('malformed', k);
  }
  return q;
}

function isXmlChar(v: number): boolean {
  return v === 0x9 || v === 0xa || v === 0xd || (v >= 0x20 && v <= 0xd7ff) || (v >= 0xe000 && v <= 0xfffd) || (v >= 0x10000 && v <= 0x10ffff);
}

/** End of the reference at b[a] === '&' within [a, limit), or -1 when it is not a valid one. */
function referenceEnd(b: Uint8Array, a: number, limit: number): number {
  let q = a + 1;
  if (q < limit && b[q] === HASH) {
    q++;
    const hex = q < limit && b[q] === 0x78;
    if (hex) q++;
    const digits = q;
    let value = 0;
    for (; q < limit; q++) {
      const c = b[q] as number;
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (hex && c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (hex && c >= 0x41 && c <= 0x46) d = c - 0x37;
      else break;
      value = Math.min(value * (hex ? 16 : 10) + d, 0x110000);
    }
    if (q === digits || q >= limit || b[q] !== SEMI || !isXmlChar(value)) return -1;
    return q + 1;
  }
  for (const name of ['lt;', 'gt;', 'amp;', 'apos;', 'quot;']) if (q + name.length <= limit && matches(b, q, name)) return q + name.length;
  return -1;
}

/** Offset of the quote closing the literal that opens at b[q] (a `"` or `'`). */
function literalEnd(b: Uint8Array, q: number): number {
  if (q >= b.length) fail('unexpectedEnd', b.length);
  const quote = b[q] as number;
  if (quote !== QUOT && quote !== APOS) fail('malformed', q);
  const close = b.indexOf(quote, q + 1);
  if (close < 0) fail('unexpectedEnd', b.length);
  return close;
}

/** Skips the attributes of a start tag from just after its name; returns the offset of its `>` or `/`. */
function skipAttributes(b: Uint8Array, i: number, strict: boolean): number {
  const n = b.length;
  for (;;) {
    const p = skipSpace(b, i);
    if (p >= n) fail('unexpectedEnd', n);
    const c = b[p] as number;
    if (c === GT || c === SLASH) return p;
    if (p === i) fail('malformed', p); // attributes are separated by whitespace
    const nameEnd = scanName(b, p, strict);
    let q = skipSpace(b, nameEnd);
    if (q >= n) fail('unexpectedEnd', n);
    if (b[q] !== EQUALS) fail('malformed', q);
    q = skipSpace(b, q + 1);
    const close = literalEnd(b, q);
    if (strict) {
      const lt = b.indexOf(LT, q + 1);
      if (lt >= 0 && lt < close) fail('malformed', lt);
    }
    i = close + 1;
  }
}

/** Skips `<!DOCTYPE …>` at i; records the PUBLIC literal in header. Returns the offset after `>`. */
function skipDoctype(b: Uint8Array, i: number, header: SyncmlHeader): number {
  const n = b.length;
  let q = i + 9;
  if (q >= n) fail('unexpectedEnd', n);
  if (!isSpace(b[q] as number)) fail('malformed', q);
  q = skipSpace(b, scanName(b, skipSpace(b, q), false));
  if (matches(b, q, 'PUBLIC')) {
    const open = skipSpace(b, q + 6);
    const close = literalEnd(b, open);
    header.publicIdStart = open + 1;
    header.publicIdEnd = close;
    q = skipSpace(b, close + 1);
    if (q < n && (b[q] === QUOT || b[q] === APOS)) q = skipSpace(b, literalEnd(b, q) + 1);
  } else if (matches(b, q, 'SYSTEM')) {
    q = skipSpace(b, literalEnd(b, skipSpace(b, q + 6)) + 1);
  }
  if (q < n && b[q] === 0x5b) {
    const close = b.indexOf(RBRACKET, q + 1);
    if (close < 0) fail('unexpectedEnd', n);
    q = skipSpace(b, close + 1);
  }
  if (q >= n) fail('unexpectedEnd', n);
  if (b[q] !== GT) fail('malformed', q);
  return q + 1;
}

/** Skips a comment `<!--` at i; returns the offset after its end. */
function skipComment(b: Uint8Array, i: number, strict: boolean): number {
  const n = b.length;
  let q = i + 4;
  for (;;) {
    const d = b.indexOf(DASH, q);
    if (d < 0 || d + 2 >= n) fail('unexpectedEnd', n);
    if (b[d + 1] !== DASH) {
      q = d + 1;
      continue;
    }
    if (b[d + 2] === GT) return d + 3;
    if (strict) fail('badComment', d);
    if (b[d + 2] === BANG && d + 3 < n && b[d + 3] === GT) return d + 4;
    q = d + 1;
  }
}

/** Skips a processing instruction `<?` at i; returns the offset after `?>`. */
function skipPi(b: Uint8Array, i: number, docStart: number, strict: boolean): number {
  const n = b.length;
  const nameEnd = scanName(b, i + 2, strict);
  if (strict && i !== docStart && nameEnd - i === 5 && matches(b, i + 2, 'xml')) fail('malformed', i); // the declaration only at the start
  let q = nameEnd;
  for (;;) {
    const g = b.indexOf(GT, q);
    if (g < 0) fail('unexpectedEnd', n);
    if (b[g - 1] === QUESTION && g - 1 >= nameEnd) return g + 1;
    q = g + 1;
  }
}

/** CDATA `<![CDATA[` at i: emits its body; returns the offset after `]]>`. */
function cdata(b: Uint8Array, i: number, out: TokenOut): number {
  const start = i + 9;
  let q = start;
  for (;;) {
    const g = b.indexOf(GT, q);
    if (g < 0) fail('unexpectedEnd', b.length);
    if (g - 2 >= start && b[g - 1] === RBRACKET && b[g - 2] === RBRACKET) {
      out.push(TokenKind.Opaque, OPAQUE_CDATA, start, g - 2);
      return g + 1;
    }
    q = g + 1;
  }
}

export function tokenizeXmlJs(b: Uint8Array, limits: Limits, out: TokenOut): SyncmlHeader {
  const { strict, maxDepth } = limits;
  const n = b.length;
  const header: SyncmlHeader = { wbxmlVersion: 0, publicId: 0, publicIdStart: 0, publicIdEnd: 0, charset: 106 };
  const nameStart = new Int32Array(maxDepth);
  const nameEnd = new Int32Array(maxDepth);
  const codes = new Int32Array(maxDepth);
  const docStart = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  let depth = 0;
  let rootSeen = false;
  let i = docStart;

  while (i < n) {
    const c = b[i] as number;
    if (c !== LT) {
      // Text up to the next '<' (a byte loop: text runs are short, shorter than a native indexOf call costs).
      let q = i;
      while (q < n && ((CLASSES[b[q] as number] as number) & SPACE) !== 0) q++;
      let p = q;
      let firstAmp = -1;
      for (;;) {
        while (p < n && ((CLASSES[b[p] as number] as number) & STOPS_TEXT) === 0) p++;
        if (p >= n || b[p] === LT) break;
        if (firstAmp < 0) firstAmp = p;
        p++;
      }
      if (depth === 0) {
        if (q < p) fail('malformed', q); // text outside the root element
        i = p;
        continue;
      }
      let tag = q === p ? TEXT_SPACE : 0;
      if (firstAmp >= 0) {
        tag = TEXT_RAW;
        if (strict) {
          for (let a = firstAmp; a < p; ) {
            const e = referenceEnd(b, a, p);
            if (e < 0) fail('badReference', a);
            a = e;
            while (a < p && b[a] !== AMP) a++;
          }
        }
      }
      out.push(TokenKind.Text, tag, i, p);
      i = p;
      continue;
    }
    if (i + 1 >= n) fail('unexpectedEnd', n);
    const c1 = b[i + 1] as number;
    if (c1 === SLASH) {
      if (depth === 0) fail('malformed', i);
      const top = depth - 1;
      const ns = nameStart[top] as number;
      const len = (nameEnd[top] as number) - ns;
      let q = i + 2;
      if (q + len > n) fail('unexpectedEnd', n);
      for (let k = 0; k < len; k++) if (b[q + k] !== b[ns + k]) fail('mismatchedTag', i);
      q += len;
      if (q < n && !isSpace(b[q] as number) && b[q] !== GT) fail('mismatchedTag', i);
      q = skipSpace(b, q);
      if (q >= n) fail('unexpectedEnd', n);
      if (b[q] !== GT) fail('malformed', q);
      out.push(TokenKind.Close, codes[top] as number, i, q + 1);
      depth = top;
      i = q + 1;
    } else if (c1 === BANG) {
      if (matches(b, i, '<!--')) {
        i = skipComment(b, i, strict);
      } else if (matches(b, i, '<![CDATA[')) {
        if (depth === 0) fail('malformed', i);
        i = cdata(b, i, out);
      } else if (matches(b, i, '<!DOCTYPE')) {
        if (depth > 0 || rootSeen) fail('malformed', i);
        i = skipDoctype(b, i, header);
      } else {
        fail('malformed', i); // also a truncated `<![CDA`: one rule for both engines
      }
    } else if (c1 === QUESTION) {
      i = skipPi(b, i, docStart, strict);
    } else {
      if (depth === 0 && rootSeen) fail('malformed', i); // a second root element
      if (depth === maxDepth) fail('tooDeep', i);
      const ns = i + 1;
      const ne = scanName(b, ns, strict);
      let local = ns;
      for (let k = ne - 1; k > ns; k--) {
        if (b[k] === COLON) {
          local = k + 1;
          break;
        }
      }
      if (local === ne) fail('malformed', ne);
      const code = lookupName(b, local, ne);
      out.push(TokenKind.Open, code, local, ne);
      const p = skipAttributes(b, ne, strict);
      rootSeen = true;
      if (b[p] === SLASH) {
        if (p + 1 >= n) fail('unexpectedEnd', n);
        if (b[p + 1] !== GT) fail('malformed', p + 1);
        out.push(TokenKind.Close, code, p, p + 2);
        i = p + 2;
      } else {
        nameStart[depth] = ns;
        nameEnd[depth] = ne;
        codes[depth] = code;
        depth++;
        i = p + 1;
      }
    }
  }
  if (depth > 0 || !rootSeen) fail('unexpectedEnd', n);
  return header;
}
