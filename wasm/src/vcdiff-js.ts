/**
 * The JS engine's delta primitives: one VCDIFF window (the same algorithm as
 * wasm/assembly/delta.ts, returning the same status codes) and the bsdiff add loop. Buffers are
 * kept and reused across windows, grown only when a window needs more.
 */
import { JsBzip2Block } from './bzip2-js.ts';
import { VCDIFF_STATUS as S, type BsdiffAddEngine, type DeltaEngine, type VcdiffWindowEngine } from './delta-types.ts';

const NOOP = 0;
const ADD = 1;
const RUN = 2;
const COPY = 3;

/** RFC 3284 §5.6 default code table: per index type1,size1,mode1,type2,size2,mode2. */
function buildDefaultTable(): Uint8Array {
  const t = new Uint8Array(256 * 6);
  let i = 0;
  const put = (...v: number[]): void => {
    t.set(v, i * 6);
    i++;
  };
  put(RUN, 0, 0, NOOP, 0, 0);
  for (let s = 0; s <= 17; s++) put(ADD, s, 0, NOOP, 0, 0);
  for (let m = 0; m <= 8; m++) {
    put(COPY, 0, m, NOOP, 0, 0);
    for (let s = 4; s <= 18; s++) put(COPY, s, m, NOOP, 0, 0);
  }
  for (let m = 0; m <= 5; m++) for (let a = 1; a <= 4; a++) for (let c = 4; c <= 6; c++) put(ADD, a, 0, COPY, c, m);
  for (let m = 6; m <= 8; m++) for (let a = 1; a <= 4; a++) put(ADD, a, 0, COPY, 4, m);
  for (let m = 0; m <= 8; m++) put(COPY, 4, m, ADD, 1, 0);
  return t;
}

const TABLE = buildDefaultTable();

export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let p = 0; p < bytes.length; ) {
    const end = Math.min(bytes.length, p + 5552);
    for (; p < end; p++) {
      a += bytes[p] as number;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A buffer of at least `length` bytes that keeps the old contents (the driver reuses the source segment). */
function grow(buffer: Uint8Array, length: number): Uint8Array {
  if (buffer.length >= length) return buffer;
  const bigger = new Uint8Array(Math.max(length, buffer.length * 2));
  bigger.set(buffer);
  return bigger;
}

class JsVcdiffWindow implements VcdiffWindowEngine {
  private src: Uint8Array = new Uint8Array(0);
  private data: Uint8Array = new Uint8Array(0);
  private inst: Uint8Array = new Uint8Array(0);
  private addr: Uint8Array = new Uint8Array(0);
  private tgt: Uint8Array = new Uint8Array(0);
  private lengths = [0, 0, 0, 0, 0];
  private target: Uint8Array = new Uint8Array(0);
  private readonly near = new Uint32Array(4);
  private readonly same = new Uint32Array(768);

  prepare(s: number, d: number, i: number, a: number, t: number): { source: Uint8Array; data: Uint8Array; inst: Uint8Array; addr: Uint8Array } {
    this.src = grow(this.src, s);
    this.data = grow(this.data, d);
    this.inst = grow(this.inst, i);
    this.addr = grow(this.addr, a);
    this.tgt = grow(this.tgt, t);
    this.lengths = [s, d, i, a, t];
    return { source: this.src.subarray(0, s), data: this.data.subarray(0, d), inst: this.inst.subarray(0, i), addr: this.addr.subarray(0, a) };
  }

  run(): Uint8Array | number {
    const [srcLen, dataLen, instLen, addrLen, tgtLen] = this.lengths as [number, number, number, number, number];
    const { src, data, inst, addr, tgt, near, same } = this;
    near.fill(0);
    same.fill(0);
    let nearSlot = 0;
    let ip = 0;
    let ap = 0;
    let dp = 0;
    let tp = 0;
    // Base-128 big-endian integers of at most 32 bits; -1 when the section ends or it overflows.
    const varint = (bytes: Uint8Array, at: number, limit: number): [number, number] => {
      let v = 0;
      for (let k = 0; k < 5; k++) {
        if (at >= limit) return [-1, at];
        const b = bytes[at++] as number;
        v = v * 128 + (b & 0x7f);
        if (v > 0xffffffff) return [-2, at];
        if ((b & 0x80) === 0) return [v, at];
      }
      return [-2, at];
    };
    while (ip < instLen) {
      const e = (inst[ip++] as number) * 6;
      if (TABLE[e] === NOOP && TABLE[e + 3] === NOOP) return S.badInstruction;
      for (let h = e; h < e + 6; h += 3) {
        const type = TABLE[h] as number;
        if (type === NOOP) continue;
        let size = TABLE[h + 1] as number;
        if (size === 0) {
          const [v, next] = varint(inst, ip, instLen);
          if (v === -1) return S.instOverflow;
          if (v === -2) return S.badInstruction;
          size = v;
          ip = next;
        }
        if (tp + size > tgtLen) return S.targetOverflow;
        if (type === ADD) {
          if (dp + size > dataLen) return S.dataOverflow;
          tgt.set(data.subarray(dp, dp + size), tp);
          dp += size;
        } else if (type === RUN) {
          if (dp >= dataLen) return S.dataOverflow;
          tgt.fill(data[dp++] as number, tp, tp + size);
        } else {
          const here = srcLen + tp;
          const mode = TABLE[h + 2] as number;
          let a: number;
          if (mode >= 6) {
            if (ap >= addrLen) return S.addrOverflow;
            a = same[(mode - 6) * 256 + (addr[ap++] as number)] as number;
          } else {
            const [v, next] = varint(addr, ap, addrLen);
            if (v < 0) return S.addrOverflow;
            ap = next;
            a = mode === 0 ? v : mode === 1 ? here - v : (near[mode - 2] as number) + v;
          }
          if (a < 0 || a >= here) return S.badAddress;
          // The WASM module keeps addresses as u32; so does this cache (a < here ≤ 2^32).
          near[nearSlot] = a;
          nearSlot = (nearSlot + 1) & 3;
          same[a % 768] = a;
          this.copy(a, tp, size);
        }
        tp += size;
      }
    }
    if (tp !== tgtLen) return S.targetShort;
    if (dp !== dataLen || ap !== addrLen) return S.sectionsLeft;
    this.target = tgt.subarray(0, tgtLen);
    return this.target;
  }

  private copy(from: number, tp: number, size: number): void {
    const { src, tgt } = this;
    const srcLen = this.lengths[0] as number;
    let n = size;
    let to = tp;
    if (from < srcLen) {
      const fromSource = Math.min(n, srcLen - from);
      tgt.set(src.subarray(from, from + fromSource), to);
      to += fromSource;
      n -= fromSource;
      from = 0;
    } else {
      from -= srcLen;
    }
    if (n === 0) return;
    if (from + n <= to) {
      tgt.copyWithin(to, from, from + n);
    } else {
      // Overlapping copy from the target: forward byte order makes it a run.
      for (let k = 0; k < n; k++) tgt[to + k] = tgt[from + k] as number;
    }
  }

  adler32(): number {
    return adler32(this.target);
  }
}

class JsBsdiffAdd implements BsdiffAddEngine {
  private diff: Uint8Array = new Uint8Array(0);
  private old: Uint8Array = new Uint8Array(0);

  prepare(length: number): { diff: Uint8Array; old: Uint8Array } {
    this.diff = grow(this.diff, length);
    this.old = grow(this.old, length);
    return { diff: this.diff.subarray(0, length), old: this.old.subarray(0, length) };
  }

  add(length: number): Uint8Array {
    const { diff, old } = this;
    for (let k = 0; k < length; k++) diff[k] = ((diff[k] as number) + (old[k] as number)) & 0xff;
    return diff.subarray(0, length);
  }

  blocks(): JsBzip2Block {
    return new JsBzip2Block();
  }
}

export function createJsDelta(): DeltaEngine {
  return { vcdiff: () => new JsVcdiffWindow(), bsdiff: () => new JsBsdiffAdd() };
}
