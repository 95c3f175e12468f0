/**
 * SyncML WBXML tokenizer, WASM engine: the algorithm of wasm/src/syncml-wbxml-js.ts over bytes in
 * linear memory, with the same records, header, error codes and offsets for every input — change
 * both together. Functions that return a value return -1 after recording an error.
 */
import {
  BAD_HEADER, BAD_STRING_REF, MALFORMED, TOO_DEEP, TRAILING_DATA, UNEXPECTED_END, UNSUPPORTED_CHARSET, UNSUPPORTED_TOKEN,
  WBXML_ATTRIBUTES, fail, push, setHeader,
} from './syncml-state';
import { TAG_UNKNOWN } from './syncml-names';

const OPEN: i32 = 1;
const CLOSE: i32 = 2;
const TEXT: i32 = 3;
const OPAQUE_KIND: i32 = 4;
const CHAR: i32 = 5;
const TEXT_SPACE: i32 = 2;

const SWITCH_PAGE: u32 = 0x00;
const END: u32 = 0x01;
const ENTITY: u32 = 0x02;
const STR_I: u32 = 0x03;
const LITERAL: u32 = 0x04;
const LITERAL_C: u32 = 0x44;
const STR_T: u32 = 0x83;
const OPAQUE: u32 = 0xc3;
const PI: u32 = 0x43;

let b: usize = 0;
let n: i32 = 0;
/** Read position of mb(). */
let i: i32 = 0;
let table: i32 = 0;
let tableLength: i32 = 0;
let strictMode: bool = false;

// @ts-ignore: decorator
@inline function at(k: i32): u32 { return <u32>load<u8>(b + <usize>k); }

/** mb_u_int32 at i, advancing i; -1 with the error set when truncated or above 2^31 - 1. */
function mb(): i32 {
  const start = i;
  let value: u64 = 0;
  for (;;) {
    if (i >= n) return fail(UNEXPECTED_END, n);
    const c = at(i++);
    value = (value << 7) | <u64>(c & 0x7f);
    if (value > 0x7fffffff) return fail(MALFORMED, start);
    if (c < 0x80) return <i32>value;
  }
  return -1; // not reached: the loop only returns
}

function indexOfNul(from: i32): i32 {
  for (let k = from; k < n; k++) if (at(k) == 0) return k;
  return -1;
}

function spaceFlag(start: i32, end: i32): i32 {
  for (let k = start; k < end; k++) {
    const c = at(k);
    if (c != 0x20 && c != 0x0a && c != 0x09 && c != 0x0d) return 0;
  }
  return TEXT_SPACE;
}

/** End (the NUL) of the table string at index, for a reference at offset `from`; -1 on error. */
function tableString(index: i32, from: i32): i32 {
  if (index >= tableLength) return fail(BAD_STRING_REF, from);
  const tableEnd = table + tableLength;
  const nul = indexOfNul(table + index);
  if (nul >= 0 && nul < tableEnd) return nul;
  if (strictMode) return fail(BAD_STRING_REF, from);
  return tableEnd;
}

export function tokenizeWbxml(input: usize, length: i32, strict: bool, maxDepth: i32, stack: usize): i32 {
  b = input;
  n = length;
  strictMode = strict;
  if (n == 0) return fail(UNEXPECTED_END, 0);
  const version = <i32>at(0);
  if (version < 1 || version > 3) return fail(BAD_HEADER, 0);
  i = 1;
  const publicId = mb();
  if (publicId < 0) return -1;
  const literalAt = i;
  let literalIndex = -1;
  if (publicId == 0) {
    literalIndex = mb();
    if (literalIndex < 0) return -1;
  }
  const charsetAt = i;
  const charset = mb();
  if (charset < 0) return -1;
  if (charset != 0 && charset != 3 && charset != 4 && charset != 106) return fail(UNSUPPORTED_CHARSET, charsetAt);
  tableLength = mb();
  if (tableLength < 0) return -1;
  table = i;
  if (tableLength > n - table) return fail(UNEXPECTED_END, n);
  const tableEnd = table + tableLength;
  let pubStart = 0;
  let pubEnd = 0;
  if (literalIndex >= 0) {
    if (literalIndex >= tableLength) return fail(BAD_STRING_REF, literalAt);
    const nul = indexOfNul(table + literalIndex);
    pubStart = table + literalIndex;
    pubEnd = nul >= 0 && nul < tableEnd ? nul : tableEnd;
  }
  i = tableEnd;

  let page = 0;
  let depth = 0;
  let rootSeen = false;
  while (i < n) {
    const from = i;
    const t = at(i++);
    if (t == SWITCH_PAGE) {
      if (i >= n) return fail(UNEXPECTED_END, n);
      page = <i32>at(i++);
    } else if (t == END) {
      if (depth == 0) return fail(MALFORMED, from);
      depth--;
      if (!push(CLOSE, load<i32>(stack + (<usize>depth << 2)), from, i)) return -1;
    } else if (t == ENTITY) {
      if (depth == 0) return fail(MALFORMED, from);
      const cp = mb();
      if (cp < 0) return -1;
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return fail(MALFORMED, from);
      if (!push(CHAR, cp, from, i)) return -1;
    } else if (t == STR_I) {
      if (depth == 0) return fail(MALFORMED, from);
      const nul = indexOfNul(i);
      if (nul < 0) return fail(UNEXPECTED_END, n);
      if (nul > i && !push(TEXT, spaceFlag(i, nul), i, nul)) return -1;
      i = nul + 1;
    } else if (t == STR_T) {
      if (depth == 0) return fail(MALFORMED, from);
      const index = mb();
      if (index < 0) return -1;
      const start = table + index;
      const end = tableString(index, from);
      if (end < 0) return -1;
      if (end > start && !push(TEXT, spaceFlag(start, end), start, end)) return -1;
    } else if (t == OPAQUE) {
      if (depth == 0) return fail(MALFORMED, from);
      const len = mb();
      if (len < 0) return -1;
      if (len > n - i) return fail(UNEXPECTED_END, n);
      if (!push(OPAQUE_KIND, 0, i, i + len)) return -1;
      i += len;
    } else {
      if (t == PI || (t >= 0x40 && t <= 0x42) || (t >= 0x80 && t <= 0x82) || (t >= 0xc0 && t <= 0xc2)) return fail(UNSUPPORTED_TOKEN, from);
      if ((t & 0x80) != 0) return fail(WBXML_ATTRIBUTES, from);
      if (depth == 0 && rootSeen) return fail(MALFORMED, from);
      if (depth == maxDepth) return fail(TOO_DEEP, from);
      let code: i32;
      if (t == LITERAL || t == LITERAL_C) {
        const index = mb();
        if (index < 0) return -1;
        const start = table + index;
        const end = tableString(index, from);
        if (end < 0) return -1;
        if (end == start) return fail(BAD_STRING_REF, from);
        code = TAG_UNKNOWN;
        if (!push(OPEN, code, start, end)) return -1;
      } else {
        code = (page << 8) | <i32>(t & 0x3f);
        if (!push(OPEN, code, from, i)) return -1;
      }
      rootSeen = true;
      if ((t & 0x40) != 0) {
        store<i32>(stack + (<usize>depth << 2), code);
        depth++;
      } else if (!push(CLOSE, code, i, i)) {
        return -1;
      }
    }
    if (depth == 0 && rootSeen) break;
  }
  if (depth > 0 || !rootSeen) return fail(UNEXPECTED_END, n);
  if (strict && i < n) return fail(TRAILING_DATA, i);
  setHeader(version, publicId, pubStart, pubEnd, charset);
  return 0;
}
