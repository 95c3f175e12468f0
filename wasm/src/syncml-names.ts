/**
 * Local name (UTF-8 bytes) → element code, without building a string per element: a 256-bucket hash
 * of length and three bytes, then a byte compare. The WASM engine (wasm/assembly/syncml-names.ts)
 * uses the same hash over the same name tables.
 */
import { FIRST_TOKEN, METINF_TAGS, PAGE_METINF, PAGE_SYNCML, SYNCML_TAGS, TAG_UNKNOWN, tagCode } from './syncml-tokens.ts';

export function nameHash(len: number, first: number, middle: number, last: number): number {
  return (len * 7 + first * 3 + middle * 5 + last) & 255;
}

interface Entry {
  bytes: Uint8Array;
  code: number;
}

function ascii(name: string): Uint8Array {
  const out = new Uint8Array(name.length);
  for (let i = 0; i < name.length; i++) out[i] = name.charCodeAt(i);
  return out;
}

const BUCKETS: Entry[][] = Array.from({ length: 256 }, () => []);
function add(names: readonly string[], page: number): void {
  names.forEach((name, i) => {
    const bytes = ascii(name);
    const n = bytes.length;
    (BUCKETS[nameHash(n, bytes[0] as number, bytes[n >> 1] as number, bytes[n - 1] as number)] as Entry[]).push({ bytes, code: tagCode(page, FIRST_TOKEN + i) });
  });
}
add(SYNCML_TAGS, PAGE_SYNCML);
add(METINF_TAGS, PAGE_METINF);

/** Code of the name in b[start, end) (end > start), or TAG_UNKNOWN. */
export function lookupName(b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  const bucket = BUCKETS[nameHash(n, b[start] as number, b[start + (n >> 1)] as number, b[end - 1] as number)] as Entry[];
  outer: for (let k = 0; k < bucket.length; k++) {
    const e = bucket[k] as Entry;
    if (e.bytes.length !== n) continue;
    for (let j = 0; j < n; j++) if (e.bytes[j] !== b[start + j]) continue outer;
    return e.code;
  }
  return TAG_UNKNOWN;
}
