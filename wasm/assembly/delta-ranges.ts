/**
 * The source bytes one VCDIFF window actually copies, as a sorted list of ranges packed one after
 * another in module memory (the "held" source). Why: xdelta3 names source segments of up to
 * 64 MiB per 8 MiB target window, and consecutive segments overlap; reading whole segments read
 * ~100 MB of source for a 64 MiB image and held a 59 MB segment. The window's COPY instructions
 * are walked once without executing them (delta.ts scan), their source parts noted here, merged,
 * and only those bytes are read, so the source held is at most what the target copies from it
 * (plus the merge gaps), never the segment.
 *
 * Table: MAX_RANGES entries of (start, end, at) u32 — segment offsets [start, end) held at
 * `held + at`. More distinct ranges than that collapse into one [lowest, highest) range.
 */

export const MAX_RANGES: u32 = 4096;
export const RANGE_BYTES: usize = 12;
// Ranges closer than this are read as one: a read call costs more than copying this many bytes.
const GAP: u64 = 16384;

let table: usize = 0;
let count: u32 = 0;
let collapsed = false;
let lowest: u32 = 0;
let highest: u32 = 0;
let cached: u32 = 0;

/** Starts a window's list in the table at `at` (MAX_RANGES × RANGE_BYTES bytes). */
export function rangesReset(at: usize): void {
  table = at;
  count = 0;
  collapsed = false;
  lowest = 0xffffffff;
  highest = 0;
  cached = 0;
}

/** Notes that the window copies segment bytes [a, a + n) (n > 0, a + n ≤ segment length). */
export function rangesNote(a: u32, n: u32): void {
  const e = a + n;
  if (a < lowest) lowest = a;
  if (e > highest) highest = e;
  if (collapsed) return;
  if (count > 0) {
    // In-order copies (the common case) extend the last range.
    const p = table + <usize>(count - 1) * RANGE_BYTES;
    const s = load<u32>(p);
    const t = load<u32>(p, 4);
    if (<u64>a <= <u64>t + GAP && <u64>e + GAP >= <u64>s) {
      if (a < s) store<u32>(p, a);
      if (e > t) store<u32>(p, e, 4);
      return;
    }
  }
  if (count == MAX_RANGES) {
    collapsed = true;
    return;
  }
  const p = table + <usize>count * RANGE_BYTES;
  store<u32>(p, a);
  store<u32>(p, e, 4);
  count++;
}

// @ts-ignore: decorator
@inline function startOf(i: u32): u32 { return load<u32>(table + <usize>i * RANGE_BYTES); }

function swap(i: u32, j: u32): void {
  const p = table + <usize>i * RANGE_BYTES;
  const q = table + <usize>j * RANGE_BYTES;
  const s = load<u32>(p);
  const e = load<u32>(p, 4);
  store<u32>(p, load<u32>(q));
  store<u32>(p, load<u32>(q, 4), 4);
  store<u32>(q, s);
  store<u32>(q, e, 4);
}

function siftDown(root: u32, n: u32): void {
  let i = root;
  while (true) {
    let child: u32 = 2 * i + 1;
    if (child >= n) return;
    if (child + 1 < n && startOf(child + 1) > startOf(child)) child++;
    if (startOf(i) >= startOf(child)) return;
    swap(i, child);
    i = child;
  }
}

/**
 * Sorts and merges the noted ranges and assigns each its place in the held region (`at`, packed
 * in source order). Returns the held size in bytes.
 */
export function rangesFinish(): u32 {
  if (collapsed) {
    store<u32>(table, lowest);
    store<u32>(table, highest, 4);
    count = 1;
  } else if (count > 1) {
    // Heapsort: bounded time and no allocation whatever the instruction stream.
    for (let i = <i32>(count >>> 1) - 1; i >= 0; i--) siftDown(<u32>i, count);
    for (let n = count - 1; n > 0; n--) {
      swap(0, n);
      siftDown(0, n);
    }
    let w: u32 = 0;
    for (let r: u32 = 1; r < count; r++) {
      const p = table + <usize>w * RANGE_BYTES;
      const q = table + <usize>r * RANGE_BYTES;
      if (<u64>load<u32>(q) <= <u64>load<u32>(p, 4) + GAP) {
        if (load<u32>(q, 4) > load<u32>(p, 4)) store<u32>(p, load<u32>(q, 4), 4);
      } else {
        w++;
        const o = table + <usize>w * RANGE_BYTES;
        store<u32>(o, load<u32>(q));
        store<u32>(o, load<u32>(q, 4), 4);
      }
    }
    count = w + 1;
  }
  let at: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const p = table + <usize>i * RANGE_BYTES;
    store<u32>(p, at, 8);
    at += load<u32>(p, 4) - load<u32>(p);
  }
  return at;
}

export function rangesCount(): u32 { return count; }

/**
 * Offset in the held region of segment bytes [a, a + n), or -1 when no range holds all of them
 * (cannot happen when run() walks what scan() noted; checked all the same).
 */
export function rangesLocate(a: u32, n: u32): i64 {
  if (count == 0) return -1;
  let i = cached;
  if (!(startOf(i) <= a && a < load<u32>(table + <usize>i * RANGE_BYTES, 4))) {
    // Greatest start ≤ a.
    let lo: u32 = 0;
    let hi: u32 = count;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (startOf(mid) <= a) lo = mid;
      else hi = mid;
    }
    i = lo;
    cached = i;
  }
  const p = table + <usize>i * RANGE_BYTES;
  const s = load<u32>(p);
  if (a < s || <u64>a + <u64>n > <u64>load<u32>(p, 4)) return -1;
  return <i64>(load<u32>(p, 8) + (a - s));
}
