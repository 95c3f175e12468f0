/**
 * SyncML tokenizer module (XML and WBXML): the WASM engine of wasm/src/syncml-js.ts, driven by
 * wasm/src/syncml-wasm.ts. Calls: prepare(length) → write the message at the returned pointer →
 * tokenize(…) → read the records at tokensPtr() (tokenCount() of them), the header getters, or
 * errorCode()/errorOffset(). Options, the size limit and format detection stay in JS (shared with
 * the JS engine), so this module only sees validated numbers.
 */
import { MAX_DEPTH, errorCode as lastError, errorOffset as lastOffset, hCharset, hPublicId, hPublicIdEnd, hPublicIdStart, hVersion, reserve, resetTokens, tokenCount as count, tokens } from './syncml-state';
import { tokenizeWbxml } from './syncml-wbxml';
import { tokenizeXml } from './syncml-xml';

const OUT_OF_MEMORY: i32 = 100;

// @ts-ignore: decorator
@inline function align(p: usize): usize { return (p + 15) & ~15; }

const stack: usize = align(__heap_base);
const input: usize = align(stack + <usize>MAX_DEPTH * 12);
let inputLength: i32 = 0;

/** Makes room for a message of `length` bytes; returns where to write it, or 0 when memory cannot grow. */
export function prepare(length: i32): usize {
  inputLength = length;
  // +8: the 8-byte scans may read past the end (they stop before using those bytes).
  if (!reserve(input + <usize>length + 8)) return 0;
  store<u64>(input + <usize>length, 0);
  return input;
}

/** format 0 = XML, 1 = WBXML. Returns 0, an error code (index in SYNCML_ERROR_CODES + 1) or OUT_OF_MEMORY. */
export function tokenize(format: i32, strict: bool, maxDepth: i32, maxTokens: i32): i32 {
  const at = align(input + <usize>inputLength + 8);
  // Indented SyncML averages ~12 bytes per token; start near that and double when needed.
  const capacity = min<i32>(maxTokens, (inputLength >> 3) + 16);
  if (!reserve(at + (<usize>capacity << 4))) return OUT_OF_MEMORY;
  resetTokens(at, capacity, maxTokens);
  const depth = min<i32>(maxDepth, MAX_DEPTH);
  const result = format == 0 ? tokenizeXml(input, inputLength, strict, depth, stack) : tokenizeWbxml(input, inputLength, strict, depth, stack);
  return result == 0 ? 0 : lastError;
}

export function errorOffset(): i32 { return lastOffset; }
export function tokensPtr(): usize { return tokens; }
export function tokenCount(): i32 { return count; }
export function wbxmlVersion(): i32 { return hVersion; }
export function publicId(): i32 { return hPublicId; }
export function publicIdStart(): i32 { return hPublicIdStart; }
export function publicIdEnd(): i32 { return hPublicIdEnd; }
export function charset(): i32 { return hCharset; }
export function outOfMemory(): i32 { return OUT_OF_MEMORY; }
