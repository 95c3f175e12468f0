/**
 * Sorting one side's names in UTF-8 byte order (wasm/assembly/diff.ts owns the layout).
 *
 * Names are compared through 7-byte digits packed in u64 keys: bytes off..off+6 of the name,
 * big-endian, zero-padded, and in the low byte min(bytes left, 8). Key order is name order; equal
 * keys with a low byte below 8 mean equal names (the names ended inside the digit); with 8 both
 * names go on and the tie is broken by the next digit.
 *
 * The first two digits (bytes 0–13, enough for most package names) are computed in one sequential
 * pass into key0/key1 and carried along when entries move, so sorting and the final merge rarely
 * touch the text in random order — on a shuffled list each such access is a cache miss, and those
 * misses, not comparisons, dominated the first version of this module (about 60 % of its time).
 *
 * A work list of (range, digit) items replaces recursion, so long shared prefixes cannot overflow
 * the stack. Each range is sorted by its digit with an MSD byte radix (a byte that is the same
 * throughout a range costs one counting pass and no moves), small ranges by insertion sort.
 */

const SMALL: u32 = 24;

// Side being sorted.
let text: usize = 0, starts: usize = 0, lengths: usize = 0;
let key0: usize = 0, key1: usize = 0, perm: usize = 0;
// Scratch regions (sized for the larger side by the caller).
let tmpKey: usize = 0, tmpExtra: usize = 0, tmpPerm: usize = 0, deepKey: usize = 0;
let work: usize = 0, buckets: usize = 0, histogram: usize = 0;

/** Index (in the caller's array) of one of two equal names, after sortSide returned false. */
export let duplicate: u32 = 0;

export function useScratch(keyTmp: usize, extraTmp: usize, permTmp: usize, deep: usize, workList: usize, bucketStack: usize, counts: usize): void {
  tmpKey = keyTmp; tmpExtra = extraTmp; tmpPerm = permTmp; deepKey = deep;
  work = workList; buckets = bucketStack; histogram = counts;
}

// @ts-ignore: decorator
@inline function at32(base: usize, k: u32): u32 { return load<u32>(base + (<usize>k << 2)); }
// @ts-ignore: decorator
@inline function at64(base: usize, k: u32): u64 { return load<u64>(base + (<usize>k << 3)); }
// @ts-ignore: decorator
@inline function put32(base: usize, k: u32, v: u32): void { store<u32>(base + (<usize>k << 2), v); }
// @ts-ignore: decorator
@inline function put64(base: usize, k: u32, v: u64): void { store<u64>(base + (<usize>k << 3), v); }

/** The digit of name `name` at byte `offset` (the name has at least one byte left there). */
export function digit(txt: usize, sts: usize, lens: usize, name: u32, offset: u32): u64 {
  const rest = at32(lens, name) - offset;
  let data = bswap<u64>(load<u64>(txt + <usize>at32(sts, name) + offset)); // text is padded by 16 bytes
  if (rest < 7) data &= ~(<u64>-1 >>> (<u64>rest << 3));
  return (data & ~<u64>0xff) | <u64>min<u32>(rest, 8);
}

/** Byte-wise comparison, 8 bytes at a time. */
export function compareBytes(a: usize, aLength: u32, b: usize, bLength: u32): i32 {
  const common = min<u32>(aLength, bLength);
  let i: u32 = 0;
  for (; i + 8 <= common; i += 8) {
    const x = load<u64>(a + i), y = load<u64>(b + i);
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
  }
  for (; i < common; i++) {
    const x = load<u8>(a + i), y = load<u8>(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return aLength == bLength ? 0 : aLength < bLength ? -1 : 1;
}

/** Compares the entries at sorted positions i and j of the current side. */
function compareAt(i: u32, j: u32): i32 {
  const a0 = at64(key0, i), b0 = at64(key0, j);
  if (a0 != b0) return a0 < b0 ? -1 : 1;
  if ((a0 & 0xff) < 8) return 0;
  const a1 = at64(key1, i), b1 = at64(key1, j);
  if (a1 != b1) return a1 < b1 ? -1 : 1;
  if ((a1 & 0xff) < 8) return 0;
  const a = at32(perm, i), b = at32(perm, j);
  return compareBytes(text + <usize>at32(starts, a) + 14, at32(lengths, a) - 14, text + <usize>at32(starts, b) + 14, at32(lengths, b) - 14);
}

/** Insertion sort of [lo, hi) by K, moving X (when set) and perm along. */
function insertionSort(K: usize, X: usize, lo: u32, hi: u32): void {
  for (let i = lo + 1; i < hi; i++) {
    const k = at64(K, i), p = at32(perm, i);
    const x = X ? at64(X, i) : 0;
    let j = i;
    while (j > lo && at64(K, j - 1) > k) {
      put64(K, j, at64(K, j - 1));
      if (X) put64(X, j, at64(X, j - 1));
      put32(perm, j, at32(perm, j - 1));
      j--;
    }
    put64(K, j, k);
    if (X) put64(X, j, x);
    put32(perm, j, p);
  }
}

/** Sorts [lo, hi) by the full u64 K with an MSD byte radix, moving X (when set) and perm along. */
function radixSort(K: usize, X: usize, lo: u32, hi: u32): void {
  let top = buckets;
  store<u32>(top, lo); store<u32>(top, hi, 4); store<u32>(top, 7, 8);
  top += 12;
  while (top > buckets) {
    top -= 12;
    const from = load<u32>(top), to = load<u32>(top, 4);
    let byte = load<u32>(top, 8);
    const n = to - from;
    if (n <= SMALL) {
      insertionSort(K, X, from, to);
      continue;
    }
    // Skip bytes that are the same across the range, then count the first one that is not.
    let shift: u64 = 0;
    for (;;) {
      shift = <u64>byte << 3;
      memory.fill(histogram, 0, 256 * 4);
      for (let k = from; k < to; k++) {
        const slot = histogram + (<usize>((at64(K, k) >>> shift) & 0xff) << 2);
        store<u32>(slot, load<u32>(slot) + 1);
      }
      const bucket = <u32>((at64(K, from) >>> shift) & 0xff);
      if (load<u32>(histogram + (<usize>bucket << 2)) != n) break;
      if (byte == 0) break;
      byte--;
    }
    if (load<u32>(histogram + (<usize>((at64(K, from) >>> shift) & 0xff) << 2)) == n) continue; // all equal
    // Prefix sums into start offsets; push sub-ranges for the next byte.
    let sum = from;
    for (let b: usize = 0; b < 256; b++) {
      const slot = histogram + (b << 2);
      const count = load<u32>(slot);
      store<u32>(slot, sum);
      if (count > 1 && byte > 0) {
        store<u32>(top, sum); store<u32>(top, sum + count, 4); store<u32>(top, byte - 1, 8);
        top += 12;
      }
      sum += count;
    }
    for (let k = from; k < to; k++) {
      const key = at64(K, k);
      const slot = histogram + (<usize>((key >>> shift) & 0xff) << 2);
      const o = load<u32>(slot);
      store<u32>(slot, o + 1);
      put64(tmpKey, o, key);
      if (X) put64(tmpExtra, o, at64(X, k));
      put32(tmpPerm, o, at32(perm, k));
    }
    memory.copy(K + (<usize>from << 3), tmpKey + (<usize>from << 3), <usize>n << 3);
    if (X) memory.copy(X + (<usize>from << 3), tmpExtra + (<usize>from << 3), <usize>n << 3);
    memory.copy(perm + (<usize>from << 2), tmpPerm + (<usize>from << 2), <usize>n << 2);
  }
}

/**
 * Sorts the side's n names: fills key0/key1, sets perm to name indexes in name order. Returns
 * false (with `duplicate` set) when two names are equal.
 */
export function sortSide(txt: usize, sts: usize, lens: usize, k0: usize, k1: usize, p: usize, n: u32): bool {
  text = txt; starts = sts; lengths = lens; key0 = k0; key1 = k1; perm = p;
  for (let i: u32 = 0; i < n; i++) {
    put32(perm, i, i);
    put64(key0, i, digit(text, starts, lengths, i, 0));
    put64(key1, i, at32(lengths, i) > 7 ? digit(text, starts, lengths, i, 7) : 0);
  }
  if (n < 2) return true;
  // Lists kept by the agent (the package DB, earlier plans) usually arrive sorted: one linear
  // check, abandoned at the first inversion, saves the whole sort.
  let ordered: u32 = 1;
  while (ordered < n) {
    const order = compareAt(ordered - 1, ordered);
    if (order == 0) { duplicate = ordered; return false; }
    if (order > 0) break;
    ordered++;
  }
  if (ordered == n) return true;

  let top = work;
  store<u32>(top, 0); store<u32>(top, n, 4); store<u32>(top, 0, 8);
  top += 12;
  while (top > work) {
    top -= 12;
    const lo = load<u32>(top), hi = load<u32>(top, 4), level = load<u32>(top, 8);
    // Digits 0 and 1 are stored; deeper ones are read from the text for this range only.
    let K = level == 0 ? key0 : key1;
    let X: usize = level == 0 ? key1 : 0;
    if (level >= 2) {
      K = deepKey;
      const offset = level * 7;
      for (let k = lo; k < hi; k++) put64(K, k, digit(text, starts, lengths, at32(perm, k), offset));
    }
    if (hi - lo <= SMALL) insertionSort(K, X, lo, hi);
    else radixSort(K, X, lo, hi);
    // Runs of equal digits: equal names (digit ended) or a tie for the next digit.
    let s = lo;
    for (let k = lo + 1; k <= hi; k++) {
      if (k < hi && at64(K, k) == at64(K, s)) continue;
      if (k - s > 1) {
        if ((at64(K, s) & 0xff) < 8) { duplicate = at32(perm, s); return false; }
        store<u32>(top, s); store<u32>(top, k, 4); store<u32>(top, level + 1, 8);
        top += 12;
      }
      s = k;
    }
  }
  return true;
}
