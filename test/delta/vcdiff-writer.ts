/**
 * A small VCDIFF writer for tests that need instruction streams the real xdelta3 does not write
 * on demand (copies in any order, thousands of scattered source ranges, windows that grow): plain
 * sections, the default code table with explicit sizes (ADD 1, RUN 0, COPY mode 0 at 19), VCD_SELF
 * addresses, optional Adler-32. `expand` is the reference decoder of the same operations.
 */

export type Op = { add: Uint8Array } | { run: number; n: number } | { copy: number; n: number };

export interface Window {
  /** Source segment [position, position + length), or none. */
  segment?: { position: number; length: number };
  ops: Op[];
  adler32?: boolean;
}

function varint(v: number): number[] {
  const out = [v & 0x7f];
  for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) out.unshift((x & 0x7f) | 0x80);
  return out;
}

function append(out: number[], bytes: ArrayLike<number>): void {
  for (let k = 0; k < bytes.length; k++) out.push(bytes[k] as number);
}

/** Adler-32 by its definition, byte by byte (the reference for the engines' fast ones). */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The target window the operations produce over `segment` (source bytes of the window). */
export function expand(segment: Uint8Array, ops: Op[]): Uint8Array {
  const out: number[] = [];
  for (const op of ops) {
    if ('add' in op) append(out, op.add);
    else if ('run' in op) for (let k = 0; k < op.n; k++) out.push(op.run);
    else for (let k = 0; k < op.n; k++) {
      const a = op.copy + k;
      out.push(a < segment.length ? (segment[a] as number) : (out[a - segment.length] as number));
    }
  }
  return new Uint8Array(out);
}

/** The patch, given the source it applies to (for the Adler-32 of each window). */
export function writeVcdiff(source: (offset: number, length: number) => Uint8Array, windows: Window[]): Uint8Array {
  const out: number[] = [0xd6, 0xc3, 0xc4, 0, 0];
  for (const w of windows) {
    const seg = w.segment ?? { position: 0, length: 0 };
    const target = expand(source(seg.position, seg.length), w.ops);
    const data: number[] = [];
    const inst: number[] = [];
    const addr: number[] = [];
    for (const op of w.ops) {
      if ('add' in op) {
        inst.push(1, ...varint(op.add.length));
        append(data, op.add);
      } else if ('run' in op) {
        inst.push(0, ...varint(op.n));
        data.push(op.run);
      } else {
        inst.push(19, ...varint(op.n));
        addr.push(...varint(op.copy));
      }
    }
    const sum = w.adler32 ? adler32(target) : -1;
    const body = [...varint(target.length), 0, ...varint(data.length), ...varint(inst.length), ...varint(addr.length)];
    if (sum >= 0) body.push(sum >>> 24, (sum >>> 16) & 0xff, (sum >>> 8) & 0xff, sum & 0xff);
    for (const section of [data, inst, addr]) append(body, section);
    out.push((w.segment ? 1 : 0) | (w.adler32 ? 4 : 0));
    if (w.segment) out.push(...varint(seg.length), ...varint(seg.position));
    out.push(...varint(body.length));
    append(out, body);
  }
  return new Uint8Array(out);
}
