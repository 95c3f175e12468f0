/**
 * Package-list diff core: sorts the names of both sides in UTF-8 byte order (diff-sort.ts) and
 * merges them into matched pairs, installed-only and desired-only indexes, each in name order.
 *
 * Only names cross into WASM. Versions and digests stay in JS, where comparing the two strings of
 * a matched pair is a pointer or memcmp check; marshalling them would cost more than it saves.
 *
 * Calls: prepare → per side: write text and lengths, locate → run → read results.
 * Input per side (written by wasm/src/diff-wasm.ts after `prepare`):
 *   text     names as UTF-8, back to back (lone surrogates as their 3-byte generalized UTF-8,
 *            which sorts by code point like agent/util/bytes.ts compareUtf8)
 *   lengths  u32 per name: byte lengths (mode 0) or UTF-16 unit lengths (mode 1, when the text
 *            came from one TextEncoder.encodeInto over all names and was not pure ASCII)
 */
import { compareBytes, duplicate, sortSide, useScratch } from './diff-sort';

const OK: i32 = 0;
const DUPLICATE_INSTALLED: i32 = 1;
const DUPLICATE_DESIRED: i32 = 2;
const OUT_OF_MEMORY: i32 = 3;

@unmanaged class Side {
  count: u32;
  text: usize;
  lengths: usize;
  starts: usize;
  key0: usize;
  key1: usize;
  perm: usize;
  only: usize;
  onlyCount: u32;
}

// The two sides live in static data, not on the heap: prepare() lays its regions out from
// __heap_base on, and the module never allocates.
const installed = changetype<Side>(memory.data(offsetof<Side>(), 16));
const desired = changetype<Side>(memory.data(offsetof<Side>(), 16));
let pairs: usize = 0;
let pairCount: u32 = 0;

// @ts-ignore: decorator
@inline function align(p: usize): usize { return (p + 15) & ~15; }

function layOut(side: Side, n: u32, capacity: u32, p: usize): usize {
  side.count = n;
  side.text = p; p = align(p + capacity + 16); // +16: digits read 8 bytes past a name's end
  side.lengths = p; p = align(p + (<usize>n << 2));
  side.starts = p; p = align(p + (<usize>n << 2));
  side.key0 = p; p = align(p + (<usize>n << 3));
  side.key1 = p; p = align(p + (<usize>n << 3));
  side.perm = p; p = align(p + (<usize>n << 2));
  side.only = p; p = align(p + (<usize>n << 2));
  return p;
}

/**
 * Lays out every region for nA installed and nB desired names whose text needs at most capA and
 * capB bytes, growing memory as needed. Returns OK or OUT_OF_MEMORY.
 */
export function prepare(nA: u32, nB: u32, capA: u32, capB: u32): i32 {
  const n = max<u32>(nA, nB);
  let p = align(__heap_base);
  p = layOut(installed, nA, capA, p);
  p = layOut(desired, nB, capB, p);
  const keyTmp = p; p = align(p + (<usize>n << 3));
  const extraTmp = p; p = align(p + (<usize>n << 3));
  const permTmp = p; p = align(p + (<usize>n << 2));
  const deep = p; p = align(p + (<usize>n << 3));
  const workList = p; p = align(p + <usize>n * 12 + 12); // ranges are disjoint, ≥ 2 entries each
  const bucketStack = p; p = align(p + 8 * 256 * 12); // ≤ 255 pending buckets per byte level
  const counts = p; p = align(p + 256 * 4);
  pairs = p; p = align(p + (<usize>min<u32>(nA, nB) << 3));
  useScratch(keyTmp, extraTmp, permTmp, deep, workList, bucketStack, counts);
  const have = <usize>memory.size() << 16;
  if (p > have) {
    const pages = <i32>((p - have + 0xffff) >>> 16);
    if (memory.grow(pages) < 0) return OUT_OF_MEMORY;
  }
  return OK;
}

export function textPtr(side: i32): usize { return side == 0 ? installed.text : desired.text; }
export function lengthsPtr(side: i32): usize { return side == 0 ? installed.lengths : desired.lengths; }
export function pairsPtr(): usize { return pairs; }
export function onlyInstalledPtr(): usize { return installed.only; }
export function onlyDesiredPtr(): usize { return desired.only; }
export function pairCountValue(): u32 { return pairCount; }
export function onlyInstalledCount(): u32 { return installed.onlyCount; }
export function onlyDesiredCount(): u32 { return desired.onlyCount; }
/** After a DUPLICATE_* result: index (in the caller's array) of one of the two equal names. */
export function duplicateIndex(): u32 { return duplicate; }

const NEEDS_EXACT_ENCODING: i32 = 1;

/**
 * Turns the lengths of one side into byte starts and byte lengths (call after writing its text).
 * With UTF-16 unit lengths, returns NEEDS_EXACT_ENCODING when the text may not be the names' exact
 * encoding: TextEncoder writes a lone surrogate as U+FFFD, and a name ending in a high surrogate
 * pairs up with a next name starting with a low one. The loader then rewrites that side with its
 * exact encoder and byte lengths. (A genuine U+FFFD in a name takes that slower path too.)
 */
export function locate(sideIndex: i32, unitLengths: bool): i32 {
  const side = sideIndex == 0 ? installed : desired;
  let pos: usize = 0;
  for (let i: u32 = 0; i < side.count; i++) {
    const slot = side.lengths + (<usize>i << 2);
    store<u32>(side.starts + (<usize>i << 2), <u32>pos);
    let end = pos;
    if (unitLengths) {
      // Walk the UTF-8 until the name's UTF-16 units are consumed: 4-byte sequences carry two
      // units (a surrogate pair), shorter ones one.
      let units = load<u32>(slot);
      while (units > 0) {
        // Eight ASCII bytes at a time: one byte and one unit each.
        if (units >= 8 && (load<u64>(side.text + end) & 0x8080808080808080) == 0) {
          end += 8;
          units -= 8;
          continue;
        }
        const lead = load<u8>(side.text + end);
        if (lead < 0x80) end += 1;
        else if (lead < 0xe0) end += 2;
        else if (lead < 0xf0) {
          if (lead == 0xef && load<u8>(side.text + end, 1) == 0xbf && load<u8>(side.text + end, 2) == 0xbd) return NEEDS_EXACT_ENCODING;
          end += 3;
        } else {
          if (units == 1) return NEEDS_EXACT_ENCODING;
          end += 4;
          units--;
        }
        units--;
      }
      store<u32>(slot, <u32>(end - pos));
    } else {
      end += load<u32>(slot);
    }
    pos = end;
  }
  return OK;
}

/** Compares installed position i with desired position j (both in sorted order). */
function compareSides(i: u32, j: u32): i32 {
  const a0 = load<u64>(installed.key0 + (<usize>i << 3)), b0 = load<u64>(desired.key0 + (<usize>j << 3));
  if (a0 != b0) return a0 < b0 ? -1 : 1;
  if ((a0 & 0xff) < 8) return 0;
  const a1 = load<u64>(installed.key1 + (<usize>i << 3)), b1 = load<u64>(desired.key1 + (<usize>j << 3));
  if (a1 != b1) return a1 < b1 ? -1 : 1;
  if ((a1 & 0xff) < 8) return 0;
  const a = load<u32>(installed.perm + (<usize>i << 2)), b = load<u32>(desired.perm + (<usize>j << 2));
  return compareBytes(
    installed.text + <usize>load<u32>(installed.starts + (<usize>a << 2)) + 14, load<u32>(installed.lengths + (<usize>a << 2)) - 14,
    desired.text + <usize>load<u32>(desired.starts + (<usize>b << 2)) + 14, load<u32>(desired.lengths + (<usize>b << 2)) - 14,
  );
}

// @ts-ignore: decorator
@inline function emitOnly(side: Side, position: u32): void {
  store<u32>(side.only + (<usize>side.onlyCount << 2), load<u32>(side.perm + (<usize>position << 2)));
  side.onlyCount++;
}

function sort(side: Side): bool {
  return sortSide(side.text, side.starts, side.lengths, side.key0, side.key1, side.perm, side.count);
}

/** Sorts both sides (after locate) and merges them. Returns OK or DUPLICATE_INSTALLED / DUPLICATE_DESIRED. */
export function run(): i32 {
  pairCount = installed.onlyCount = desired.onlyCount = 0;
  if (!sort(installed)) return DUPLICATE_INSTALLED;
  if (!sort(desired)) return DUPLICATE_DESIRED;
  let i: u32 = 0, j: u32 = 0;
  while (i < installed.count && j < desired.count) {
    const order = compareSides(i, j);
    if (order == 0) {
      store<u32>(pairs + (<usize>pairCount << 3), load<u32>(installed.perm + (<usize>i << 2)));
      store<u32>(pairs + (<usize>pairCount << 3), load<u32>(desired.perm + (<usize>j << 2)), 4);
      pairCount++; i++; j++;
    } else if (order < 0) {
      emitOnly(installed, i++);
    } else {
      emitOnly(desired, j++);
    }
  }
  for (; i < installed.count; i++) emitOnly(installed, i);
  for (; j < desired.count; j++) emitOnly(desired, j);
  return OK;
}
