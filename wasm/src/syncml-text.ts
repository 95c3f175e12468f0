/**
 * Decoding token spans (syncml-tokens.ts) into strings, for the model builder: UTF-8 (malformed
 * sequences → U+FFFD) and, for TEXT_RAW spans, the five XML entities and numeric references. An `&`
 * that starts no valid reference (a bare `&` accepted in lenient mode) stays a literal `&`; strict
 * mode has already refused such input. Line ends are kept as they are.
 */
import { utf8Decode } from '../../agent/util/bytes.ts';
import { TEXT_RAW } from './syncml-tokens.ts';
import { referenceEnd } from './syncml-xml-js.ts';

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function plain(b: Uint8Array, start: number, end: number): string {
  for (let k = start; k < end; k++) if ((b[k] as number) >= 0x80) return utf8Decode(b.subarray(start, end));
  let out = '';
  for (let k = start; k < end; k += 4096) out += String.fromCharCode.apply(null, Array.from(b.subarray(k, Math.min(end, k + 4096))));
  return out;
}

/** The value of the valid reference b[a, e) (e from referenceEnd). */
function reference(b: Uint8Array, a: number, e: number): string {
  if (b[a + 1] !== 0x23) return ENTITIES[plain(b, a + 1, e - 1)] as string;
  const hex = b[a + 2] === 0x78;
  return String.fromCodePoint(parseInt(plain(b, a + (hex ? 3 : 2), e - 1), hex ? 16 : 10));
}

/** The text of a Text token span; `tag` is the token's TEXT_* flags. */
export function decodeText(b: Uint8Array, start: number, end: number, tag: number): string {
  if ((tag & TEXT_RAW) === 0) return plain(b, start, end);
  let out = '';
  let from = start;
  for (let a = b.indexOf(0x26, start); a >= 0 && a < end; a = b.indexOf(0x26, a + 1)) {
    const e = referenceEnd(b, a, end);
    if (e < 0) continue;
    out += plain(b, from, a) + reference(b, a, e);
    from = e;
    a = e - 1;
  }
  return out + plain(b, from, end);
}

/** A Char token (WBXML ENTITY) as a string. */
export function charText(codePoint: number): string {
  return String.fromCodePoint(codePoint);
}
