/**
 * Local name (UTF-8 bytes) → element code, without building a string per element: a 256-bucket hash
 * of length and three bytes, then a byte compare. The WASM engine (wasm/assembly/syncml-names.ts)
 * uses the same hash over the same name tables.
 *
 * The table is two typed arrays built on the first lookup, not an array of 256 bucket arrays of
 * entry objects each holding its own Uint8Array: in QuickJS that was ~560 objects and ~45 KB of
 * the guest heap for ~80 names, and a cycle that never tokenizes SyncML now pays nothing.
 */
import { FIRST_TOKEN, METINF_TAGS, PAGE_METINF, PAGE_SYNCML, SYNCML_TAGS, TAG_UNKNOWN, tagCode } from './syncml-tokens.ts';

export function nameHash(len: number, first: number, middle: number, last: number): number {
  return (len * 7 + first * 3 + middle * 5 + last) & 255;
}

/**
 * `index`: 256 bucket heads (entry number + 1, 0 = empty), then per entry its name's start in
 * `bytes`, its length, its code and the next entry of its bucket (+ 1, 0 = last). No name is on
 * both pages, so the order inside a bucket does not change any answer.
 */
interface Table {
  bytes: Uint8Array;
  index: Uint16Array;
}

const HEADS = 256;
const ENTRY = 4;
let table: Table | undefined;

function build(): Table {
  const pages: [readonly string[], number][] = [
    [SYNCML_TAGS, PAGE_SYNCML],
    [METINF_TAGS, PAGE_METINF],
  ];
  let size = 0;
  let count = 0;
  for (const [names] of pages) for (const name of names) (size += name.length), count++;
  const bytes = new Uint8Array(size);
  const index = new Uint16Array(HEADS + count * ENTRY);
  let at = 0;
  let e = 0;
  for (const [names, page] of pages) {
    names.forEach((name, i) => {
      const n = name.length;
      for (let k = 0; k < n; k++) bytes[at + k] = name.charCodeAt(k);
      const h = nameHash(n, bytes[at] as number, bytes[at + (n >> 1)] as number, bytes[at + n - 1] as number);
      const slot = HEADS + e * ENTRY;
      index[slot] = at;
      index[slot + 1] = n;
      index[slot + 2] = tagCode(page, FIRST_TOKEN + i);
      index[slot + 3] = index[h] as number;
      index[h] = ++e;
      at += n;
    });
  }
  return { bytes, index };
}

/** Code of the name in b[start, end) (end > start), or TAG_UNKNOWN. */
export function lookupName(b: Uint8Array, start: number, end: number): number {
  const { bytes, index } = (table ??= build());
  const n = end - start;
  let e = index[nameHash(n, b[start] as number, b[start + (n >> 1)] as number, b[end - 1] as number)] as number;
  outer: while (e !== 0) {
    const slot = HEADS + (e - 1) * ENTRY;
    e = index[slot + 3] as number;
    if (index[slot + 1] !== n) continue;
    const at = index[slot] as number;
    for (let j = 0; j < n; j++) if (bytes[at + j] !== b[start + j]) continue outer;
    return index[slot + 2] as number;
  }
  return TAG_UNKNOWN;
}
