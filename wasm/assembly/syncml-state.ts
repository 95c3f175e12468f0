/**
 * Shared state of the SyncML tokenizer module (syncml.ts): the error slot, the header facts and the
 * token buffer. Memory regions, laid out by syncml.ts `prepare` from __heap_base on:
 *   stack   MAX_DEPTH × 3 i32 (open elements: name start, name end, code)
 *   input   the message, written by the loader (wasm/src/syncml-wasm.ts)
 *   tokens  records of 4 i32 (wasm/src/syncml-tokens.ts), last so it can grow in place
 * Nothing is allocated (stub runtime): growing is memory.grow.
 */

// Error codes: index in SYNCML_ERROR_CODES (wasm/src/errors.ts) + 1.
export const TOO_DEEP: i32 = 2;
export const TOO_MANY_TOKENS: i32 = 3;
export const UNEXPECTED_END: i32 = 4;
export const MALFORMED: i32 = 5;
export const MISMATCHED_TAG: i32 = 6;
export const BAD_REFERENCE: i32 = 7;
export const BAD_COMMENT: i32 = 8;
export const BAD_HEADER: i32 = 10;
export const UNSUPPORTED_CHARSET: i32 = 11;
export const BAD_STRING_REF: i32 = 12;
export const WBXML_ATTRIBUTES: i32 = 13;
export const UNSUPPORTED_TOKEN: i32 = 14;
export const TRAILING_DATA: i32 = 15;
/** Not a SyncML error: memory.grow failed. */
export const OUT_OF_MEMORY: i32 = 100;

export const MAX_DEPTH: i32 = 4096;

export let errorCode: i32 = 0;
export let errorOffset: i32 = 0;

/** Records the first error; returns -1 so callers can `return fail(…)` where an offset is expected. */
export function fail(code: i32, offset: i32): i32 {
  errorCode = code;
  errorOffset = offset;
  return -1;
}

export let hVersion: i32 = 0;
export let hPublicId: i32 = 0;
export let hPublicIdStart: i32 = 0;
export let hPublicIdEnd: i32 = 0;
export let hCharset: i32 = 0;

export function setHeader(version: i32, publicId: i32, start: i32, end: i32, charset: i32): void {
  hVersion = version;
  hPublicId = publicId;
  hPublicIdStart = start;
  hPublicIdEnd = end;
  hCharset = charset;
}

export let tokens: usize = 0;
export let tokenCount: i32 = 0;
let tokenCapacity: i32 = 0;
let tokenMax: i32 = 0;

export function resetTokens(at: usize, capacity: i32, max: i32): void {
  tokens = at;
  tokenCount = 0;
  tokenCapacity = capacity;
  tokenMax = max;
  errorCode = 0;
  errorOffset = 0;
}

/** Ensures linear memory reaches `end`; false when it cannot grow. */
export function reserve(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  return memory.grow(<i32>((end - have + 0xffff) >>> 16)) >= 0;
}

function grow(offset: i32): bool {
  if (tokenCapacity >= tokenMax) {
    fail(TOO_MANY_TOKENS, offset);
    return false;
  }
  const next = min<i32>(tokenMax, tokenCapacity << 1);
  if (!reserve(tokens + (<usize>next << 4))) {
    fail(OUT_OF_MEMORY, offset);
    return false;
  }
  tokenCapacity = next;
  return true;
}

/** Appends a record; false (error set) at the token limit. */
// @ts-ignore: decorator
@inline export function push(kind: i32, tag: i32, start: i32, end: i32): bool {
  if (tokenCount == tokenCapacity && !grow(start)) return false;
  const p = tokens + (<usize>tokenCount << 4);
  store<i32>(p, kind);
  store<i32>(p, tag, 4);
  store<i32>(p, start, 8);
  store<i32>(p, end, 12);
  tokenCount++;
  return true;
}
