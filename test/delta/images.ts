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
      // Four bytes per draw: the 64 MiB images are made in well under a second.
      for (let k = 0; k < n; k += 4) {
        const word = (random() * 0x100000000) >>> 0;
        for (let b = 0; b < 4 && k + b < n; b++) out[p + k + b] = (word >>> (b * 8)) & 0xff;
      }
    } else {
      const off = Math.floor(random() * words.length);
      for (let k = 0; k < n; k++) out[p + k] = words[(off + k) % words.length] as number;
    }
    p += n;
  }
  return out;
}

/**
 * A target derived from `source` by about `edits` random edits touching roughly `fraction` of
 * it: overwrites, insertions, deletions and moves (a block cut at one place and pasted at
 * another). Built in one pass over the source, so 64 MiB images stay cheap.
 */
export function editImage(source: Uint8Array, random: () => number, edits: number, fraction = 0.05): Uint8Array {
  const budget = Math.max(1, Math.floor((source.length * fraction) / Math.max(1, edits)));
  type Edit = { at: number; cut: number; paste: Uint8Array };
  const list: Edit[] = [];
  const fresh = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => (random() * 256) | 0);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (source.length + 1));
    const n = 1 + Math.floor(random() * budget);
    const kind = random();
    if (kind < 0.3) list.push({ at, cut: n, paste: fresh(n) });
    else if (kind < 0.55) list.push({ at, cut: 0, paste: fresh(n) });
    else if (kind < 0.75) list.push({ at, cut: n, paste: new Uint8Array(0) });
    else {
      const block = source.slice(at, Math.min(source.length, at + n * 4));
      list.push({ at, cut: block.length, paste: new Uint8Array(0) });
      list.push({ at: Math.floor(random() * (source.length + 1)), cut: 0, paste: block });
    }
  }
  list.sort((a, b) => a.at - b.at);
  const parts: Uint8Array[] = [];
  let cursor = 0;
  for (const edit of list) {
    const at = Math.max(edit.at, cursor);
    parts.push(source.subarray(cursor, at), edit.paste);
    cursor = Math.min(source.length, at + edit.cut);
  }
  parts.push(source.subarray(cursor));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}
