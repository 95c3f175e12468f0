/**
 * How the store holds a live value in memory: a value of at most HELD_AS_STRING_MAX bytes as a
 * binary string (one char per byte, 0–255), a larger one as its own Uint8Array.
 *
 * Why: the store keeps every live value for the agent's whole life, and most are small (a DM tree
 * node, a FUMO or job record, an outbox entry: tens of bytes). In QuickJS each Uint8Array is a
 * typed-array object plus an ArrayBuffer object, ~200 B of heap before its first byte (issue 16:
 * ~60 seeded DM tree nodes alone held +125 objects / +14 KiB). A string of chars below 256 is one
 * allocation with a ~16 B header and a byte per char in QuickJS (8-bit string) and in V8 (one-byte
 * string), and `new Map(values)` on a compaction shares the strings instead of copying anything.
 *
 * Why not always: converting costs a step per byte (`get()` copies anyway, but a Uint8Array copy
 * is one memcpy). Measured (loaded machine, µs per conversion, string→bytes): QuickJS 200 B ~100,
 * 4 KiB ~2 000, 64 KiB ~30 000; Node 200 B ~4, 4 KiB ~50. Above HELD_AS_STRING_MAX the object's
 * ~200 B are at most ~40 % of the value, so a large value stays a Uint8Array and its reads stay a
 * copy. Rejected: one arena Uint8Array per store with offsets in the Map keeps reads a memcpy,
 * but its growth slack and dead bytes (compacted only now and then) cost about what the per-value
 * string headers do, and its code (growing, in-memory compaction, sharing it between the live set
 * and a compaction's pending one) costs more heap than these two functions.
 */
export type HeldValue = string | Uint8Array;

/** Values up to this many bytes are held as strings (one `fromCharCode` call: no chunking needed). */
export const HELD_AS_STRING_MAX = 512;

/** What the store keeps for `bytes`: never `bytes` itself (the caller may change it later). */
export function hold(bytes: Uint8Array): HeldValue {
  if (bytes.length > HELD_AS_STRING_MAX) return bytes.slice();
  // apply takes the typed array as its argument list: no intermediate array of numbers.
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** A fresh copy of a held value's bytes, the caller's to change. Its length is `held.length` either way. */
export function release(held: HeldValue): Uint8Array {
  if (typeof held !== 'string') return held.slice();
  const length = held.length;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = held.charCodeAt(i);
  return out;
}
