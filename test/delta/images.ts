/**
 * Random image pairs for the real-peer suites and benchmarks: a source of random and
 * compressible stretches, and a target made from it by random edits (overwrites, insertions,
 * deletions, moves of blocks). Seeded, so a failing case can be reproduced from its seed.
 */

export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

export function randomImage(size: number, random: () => number): Uint8Array {
  const out = new Uint8Array(size);
  const words = new TextEncoder().encode('firmware partition block header kernel rootfs config ');
  for (let p = 0; p < size; ) {
    const n = Math.min(size - p, 1 + Math.floor(random() * 65536));
    if (random() < 0.5) {
      for (let k = 0; k < n; k++) out[p + k] = (random() * 256) | 0;
    } else {
      const off = Math.floor(random() * words.length);
      for (let k = 0; k < n; k++) out[p + k] = words[(off + k) % words.length] as number;
    }
    p += n;
  }
  return out;
}

/** A target derived from `source` by about `edits` random edits, touching roughly `fraction` of it. */
export function editImage(source: Uint8Array, random: () => number, edits: number, fraction = 0.05): Uint8Array {
  const parts: Uint8Array[] = [source];
  let total = source.length;
  const budget = Math.max(1, Math.floor((source.length * fraction) / Math.max(1, edits)));
  const flat = (): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  let image = source;
  for (let e = 0; e < edits; e++) {
    image = flat();
    total = image.length;
    const at = Math.floor(random() * (total + 1));
    const n = 1 + Math.floor(random() * budget);
    const kind = random();
    const fresh = (): Uint8Array => Uint8Array.from({ length: n }, () => (random() * 256) | 0);
    if (kind < 0.3) parts.splice(0, parts.length, image.subarray(0, at), fresh(), image.subarray(Math.min(total, at + n)));
    else if (kind < 0.55) parts.splice(0, parts.length, image.subarray(0, at), fresh(), image.subarray(at));
    else if (kind < 0.75) parts.splice(0, parts.length, image.subarray(0, at), image.subarray(Math.min(total, at + n)));
    else {
      // Move: cut a block and paste it elsewhere.
      const block = image.slice(at, Math.min(total, at + n * 4));
      const rest = new Uint8Array(total - block.length);
      rest.set(image.subarray(0, at));
      rest.set(image.subarray(at + block.length), at);
      const to = Math.floor(random() * (rest.length + 1));
      parts.splice(0, parts.length, rest.subarray(0, to), block, rest.subarray(to));
    }
  }
  return flat();
}
