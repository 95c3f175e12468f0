/**
 * SyncML XML tokenizer, WASM engine: the algorithm of wasm/src/syncml-xml-js.ts over bytes in
 * linear memory, with the same records, header, error codes and offsets for every input (the
 * tests and fuzz targets compare the two) — change both together. Functions that return an offset
 * return -1 after recording an error (syncml-state.ts fail).
 */
import { BAD_COMMENT, BAD_REFERENCE, MALFORMED, MISMATCHED_TAG, TOO_DEEP, UNEXPECTED_END, fail, push, setHeader } from './syncml-state';
import { lookupName } from './syncml-names';

const LT: u32 = 0x3c;
const GT: u32 = 0x3e;
const AMP: u32 = 0x26;
const SLASH: u32 = 0x2f;
const BANG: u32 = 0x21;
const QUESTION: u32 = 0x3f;
const DASH: u32 = 0x2d;
const RBRACKET: u32 = 0x5d;
const EQUALS: u32 = 0x3d;
const QUOT: u32 = 0x22;
const APOS: u32 = 0x27;
const COLON: u32 = 0x3a;
const SEMI: u32 = 0x3b;
const HASH: u32 = 0x23;

const OPEN: i32 = 1;
const CLOSE: i32 = 2;
const TEXT: i32 = 3;
const OPAQUE: i32 = 4;
const TEXT_RAW: i32 = 1;
const TEXT_SPACE: i32 = 2;
const OPAQUE_CDATA: i32 = 1;

let b: usize = 0;
let n: i32 = 0;
let pubStart: i32 = 0;
let pubEnd: i32 = 0;

// @ts-ignore: decorator
@inline function at(i: i32): u32 { return <u32>load<u8>(b + <usize>i); }

// Byte classes, one table load instead of a chain of compares in the per-byte loops.
const SPACE: u32 = 1; // XML whitespace
const ENDS_NAME: u32 = 2; // ends a name: ≤ 0x20 and > / = < " '
const STOPS_TEXT: u32 = 4; // < and &
const CLASSES = memory.data(256, 16);
for (let c: u32 = 0; c < 256; c++) {
  let k: u32 = 0;
  if (c == 0x20 || c == 0x0a || c == 0x09 || c == 0x0d) k |= SPACE;
  if (c <= 0x20 || c == GT || c == SLASH || c == EQUALS || c == LT || c == QUOT || c == APOS) k |= ENDS_NAME;
  if (c == LT || c == AMP) k |= STOPS_TEXT;
  store<u8>(CLASSES + c, <u8>k);
}

// @ts-ignore: decorator
@inline function classOf(c: u32): u32 { return <u32>load<u8>(CLASSES + <usize>c); }

// @ts-ignore: decorator
@inline function isSpace(c: u32): bool { return (classOf(c) & SPACE) != 0; }

// @ts-ignore: decorator
@inline function endsName(c: u32): bool { return (classOf(c) & ENDS_NAME) != 0; }

function isNameStart(c: u32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f || c == COLON || c >= 0x80;
}

function isNameChar(c: u32): bool {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c == DASH || c == 0x2e;
}

/** First offset ≥ from holding byte c, or -1. Eight bytes at a time while no byte matches. */
function indexOf(c: u32, from: i32): i32 {
  let i = from;
  const pattern: u64 = <u64>c * 0x0101010101010101;
  while (i + 8 <= n) {
    const x = load<u64>(b + <usize>i) ^ pattern;
    if (((x - 0x0101010101010101) & ~x & 0x8080808080808080) != 0) break;
    i += 8;
  }
  for (; i < n; i++) if (at(i) == c) return i;
  return -1;
}

function matches(i: i32, s: string): bool {
  const len = s.length;
  if (i + len > n) return false;
  for (let k = 0; k < len; k++) if (at(i + k) != <u32>load<u16>(changetype<usize>(s) + (<usize>k << 1))) return false;
  return true;
}

function skipSpace(i: i32): i32 {
  while (i < n && isSpace(at(i))) i++;
  return i;
}

function scanName(i: i32, strict: bool): i32 {
  let q = i;
  while (q < n && !endsName(at(q))) q++;
  if (q == n) return fail(UNEXPECTED_END, n);
  if (q == i) return fail(MALFORMED, i);
  if (strict) {
    if (!isNameStart(at(i))) return fail(MALFORMED, i);
    for (let k = i + 1; k < q; k++) if (!isNameChar(at(k))) return fail(MALFORMED, k);
  }
  return q;
}

function isXmlChar(v: i32): bool {
  return v == 0x9 || v == 0xa || v == 0xd || (v >= 0x20 && v <= 0xd7ff) || (v >= 0xe000 && v <= 0xfffd) || (v >= 0x10000 && v <= 0x10ffff);
}

function referenceEnd(a: i32, limit: i32): i32 {
  let q = a + 1;
  if (q < limit && at(q) == HASH) {
    q++;
    const hex = q < limit && at(q) == 0x78;
    if (hex) q++;
    const digits = q;
    let value = 0;
    for (; q < limit; q++) {
      const c = at(q);
      let d: i32 = 0;
      if (c >= 0x30 && c <= 0x39) d = <i32>c - 0x30;
      else if (hex && c >= 0x61 && c <= 0x66) d = <i32>c - 0x57;
      else if (hex && c >= 0x41 && c <= 0x46) d = <i32>c - 0x37;
      else break;
      value = min<i32>(value * (hex ? 16 : 10) + d, 0x110000);
    }
    if (q == digits || q >= limit || at(q) != SEMI || !isXmlChar(value)) return -1;
    return q + 1;
  }
  if (q + 3 <= limit && matches(q, 'lt;')) return q + 3;
  if (q + 3 <= limit && matches(q, 'gt;')) return q + 3;
  if (q + 4 <= limit && matches(q, 'amp;')) return q + 4;
  if (q + 5 <= limit && matches(q, 'apos;')) return q + 5;
  if (q + 5 <= limit && matches(q, 'quot;')) return q + 5;
  return -1;
}

function literalEnd(q: i32): i32 {
  if (q >= n) return fail(UNEXPECTED_END, n);
  const quote = at(q);
  if (quote != QUOT && quote != APOS) return fail(MALFORMED, q);
  const close = indexOf(quote, q + 1);
  if (close < 0) return fail(UNEXPECTED_END, n);
  return close;
}

function skipAttributes(i: i32, strict: bool): i32 {
  for (;;) {
    const p = skipSpace(i);
    if (p >= n) return fail(UNEXPECTED_END, n);
    const c = at(p);
    if (c == GT || c == SLASH) return p;
    if (p == i) return fail(MALFORMED, p);
    const nameEnd = scanName(p, strict);
    if (nameEnd < 0) return -1;
    let q = skipSpace(nameEnd);
    if (q >= n) return fail(UNEXPECTED_END, n);
    if (at(q) != EQUALS) return fail(MALFORMED, q);
    q = skipSpace(q + 1);
    const close = literalEnd(q);
    if (close < 0) return -1;
    if (strict) {
      const lt = indexOf(LT, q + 1);
      if (lt >= 0 && lt < close) return fail(MALFORMED, lt);
    }
    i = close + 1;
  }
  return -1; // not reached: the loop only returns
}

function skipDoctype(i: i32): i32 {
  let q = i + 9;
  if (q >= n) return fail(UNEXPECTED_END, n);
  if (!isSpace(at(q))) return fail(MALFORMED, q);
  q = scanName(skipSpace(q), false);
  if (q < 0) return -1;
  q = skipSpace(q);
  if (matches(q, 'PUBLIC')) {
    const open = skipSpace(q + 6);
    const close = literalEnd(open);
    if (close < 0) return -1;
    pubStart = open + 1;
    pubEnd = close;
    q = skipSpace(close + 1);
    if (q < n && (at(q) == QUOT || at(q) == APOS)) {
      const end = literalEnd(q);
      if (end < 0) return -1;
      q = skipSpace(end + 1);
    }
  } else if (matches(q, 'SYSTEM')) {
    const end = literalEnd(skipSpace(q + 6));
    if (end < 0) return -1;
    q = skipSpace(end + 1);
  }
  if (q < n && at(q) == 0x5b) {
    const close = indexOf(RBRACKET, q + 1);
    if (close < 0) return fail(UNEXPECTED_END, n);
    q = skipSpace(close + 1);
  }
  if (q >= n) return fail(UNEXPECTED_END, n);
  if (at(q) != GT) return fail(MALFORMED, q);
  return q + 1;
}

function skipComment(i: i32, strict: bool): i32 {
  let q = i + 4;
  for (;;) {
    const d = indexOf(DASH, q);
    if (d < 0 || d + 2 >= n) return fail(UNEXPECTED_END, n);
    if (at(d + 1) != DASH) {
      q = d + 1;
      continue;
    }
    if (at(d + 2) == GT) return d + 3;
    if (strict) return fail(BAD_COMMENT, d);
    if (at(d + 2) == BANG && d + 3 < n && at(d + 3) == GT) return d + 4;
    q = d + 1;
  }
  return -1; // not reached: the loop only returns
}

function skipPi(i: i32, docStart: i32, strict: bool): i32 {
  const nameEnd = scanName(i + 2, strict);
  if (nameEnd < 0) return -1;
  if (strict && i != docStart && nameEnd - i == 5 && matches(i + 2, 'xml')) return fail(MALFORMED, i);
  let q = nameEnd;
  for (;;) {
    const g = indexOf(GT, q);
    if (g < 0) return fail(UNEXPECTED_END, n);
    if (at(g - 1) == QUESTION && g - 1 >= nameEnd) return g + 1;
    q = g + 1;
  }
  return -1; // not reached: the loop only returns
}

function cdata(i: i32): i32 {
  const start = i + 9;
  let q = start;
  for (;;) {
    const g = indexOf(GT, q);
    if (g < 0) return fail(UNEXPECTED_END, n);
    if (g - 2 >= start && at(g - 1) == RBRACKET && at(g - 2) == RBRACKET) {
      if (!push(OPAQUE, OPAQUE_CDATA, start, g - 2)) return -1;
      return g + 1;
    }
    q = g + 1;
  }
  return -1; // not reached: the loop only returns
}

/** Tokenizes input [0, length) at `input`; `stack` holds maxDepth × 3 i32. 0, or -1 with the error set. */
export function tokenizeXml(input: usize, length: i32, strict: bool, maxDepth: i32, stack: usize): i32 {
  b = input;
  n = length;
  pubStart = 0;
  pubEnd = 0;
  const docStart = n >= 3 && at(0) == 0xef && at(1) == 0xbb && at(2) == 0xbf ? 3 : 0;
  let depth = 0;
  let rootSeen = false;
  let i = docStart;

  while (i < n) {
    const c = at(i);
    if (c != LT) {
      // Text up to the next '<', noting whether it is all whitespace and holds an '&'.
      let q = i;
      while (q < n && isSpace(at(q))) q++;
      let p = q;
      let firstAmp = -1;
      for (;;) {
        while (p < n && (classOf(at(p)) & STOPS_TEXT) == 0) p++;
        if (p >= n || at(p) == LT) break;
        if (firstAmp < 0) firstAmp = p;
        p++;
      }
      if (depth == 0) {
        if (q < p) return fail(MALFORMED, q);
        i = p;
        continue;
      }
      let tag = q == p ? TEXT_SPACE : 0;
      if (firstAmp >= 0) {
        tag = TEXT_RAW;
        if (strict) {
          let a = firstAmp;
          while (a >= 0 && a < p) {
            const e = referenceEnd(a, p);
            if (e < 0) return fail(BAD_REFERENCE, a);
            a = e;
            while (a < p && at(a) != AMP) a++;
          }
        }
      }
      if (!push(TEXT, tag, i, p)) return -1;
      i = p;
      continue;
    }
    if (i + 1 >= n) return fail(UNEXPECTED_END, n);
    const c1 = at(i + 1);
    if (c1 == SLASH) {
      if (depth == 0) return fail(MALFORMED, i);
      const top = stack + <usize>(depth - 1) * 12;
      const ns = load<i32>(top);
      const len = load<i32>(top, 4) - ns;
      let q = i + 2;
      if (q + len > n) return fail(UNEXPECTED_END, n);
      if (memory.compare(b + <usize>q, b + <usize>ns, <usize>len) != 0) return fail(MISMATCHED_TAG, i);
      q += len;
      if (q < n && !isSpace(at(q)) && at(q) != GT) return fail(MISMATCHED_TAG, i);
      q = skipSpace(q);
      if (q >= n) return fail(UNEXPECTED_END, n);
      if (at(q) != GT) return fail(MALFORMED, q);
      if (!push(CLOSE, load<i32>(top, 8), i, q + 1)) return -1;
      depth--;
      i = q + 1;
    } else if (c1 == BANG) {
      if (matches(i, '<!--')) {
        i = skipComment(i, strict);
      } else if (matches(i, '<![CDATA[')) {
        if (depth == 0) return fail(MALFORMED, i);
        i = cdata(i);
      } else if (matches(i, '<!DOCTYPE')) {
        if (depth > 0 || rootSeen) return fail(MALFORMED, i);
        i = skipDoctype(i);
      } else {
        return fail(MALFORMED, i);
      }
      if (i < 0) return -1;
    } else if (c1 == QUESTION) {
      i = skipPi(i, docStart, strict);
      if (i < 0) return -1;
    } else {
      if (depth == 0 && rootSeen) return fail(MALFORMED, i);
      if (depth == maxDepth) return fail(TOO_DEEP, i);
      const ns = i + 1;
      const ne = scanName(ns, strict);
      if (ne < 0) return -1;
      let local = ns;
      for (let k = ne - 1; k > ns; k--) {
        if (at(k) == COLON) {
          local = k + 1;
          break;
        }
      }
      if (local == ne) return fail(MALFORMED, ne);
      const code = lookupName(b + <usize>local, ne - local);
      if (!push(OPEN, code, local, ne)) return -1;
      const p = skipAttributes(ne, strict);
      if (p < 0) return -1;
      rootSeen = true;
      if (at(p) == SLASH) {
        if (p + 1 >= n) return fail(UNEXPECTED_END, n);
        if (at(p + 1) != GT) return fail(MALFORMED, p + 1);
        if (!push(CLOSE, code, p, p + 2)) return -1;
        i = p + 2;
      } else {
        const top = stack + <usize>depth * 12;
        store<i32>(top, ns);
        store<i32>(top, ne, 4);
        store<i32>(top, code, 8);
        depth++;
        i = p + 1;
      }
    }
  }
  if (depth > 0 || !rootSeen) return fail(UNEXPECTED_END, n);
  setHeader(0, 0, pubStart, pubEnd, 106);
  return 0;
}
