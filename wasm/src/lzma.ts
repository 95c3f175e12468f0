/**
 * LZMA2 decoder inside an xz stream, as xdelta3's LZMA secondary compressor writes it
 * (xdelta3-lzma.h): one xz stream per VCDIFF section type (data, instructions, addresses) that
 * runs across all windows; each window's section holds the next LZMA2 chunks (the encoder
 * sync-flushes per window), the first also the xz stream and block headers. The stream is never
 * finished, so it has no index or footer. The dictionary therefore persists across windows; it is
 * held as a sliding buffer of at most the declared dictionary size plus one chunk (≤ 2 MiB).
 * Portable TS shared by both engines (written here from the LZMA/xz specifications).
 */
import { crc32 } from '../../agent/util/crc32.ts';
import { DeltaError } from './delta-types.ts';

const corrupt = (what: string): DeltaError => new DeltaError('corrupt', `LZMA secondary: ${what}`);

const PROB_INIT = 1024;
// Offsets in one probability array (LZMA spec layout, literal coder last because its size varies).
const IS_MATCH = 0; // 12 states × 16 pos states
const IS_REP = IS_MATCH + 192;
const IS_REP_G0 = IS_REP + 12;
const IS_REP_G1 = IS_REP_G0 + 12;
const IS_REP_G2 = IS_REP_G1 + 12;
const IS_REP0_LONG = IS_REP_G2 + 12; // 192
const POS_SLOT = IS_REP0_LONG + 192; // 4 × 64
const SPEC_POS = POS_SLOT + 256; // 115 (index 0 unused by the reverse trees' base arithmetic)
const ALIGN = SPEC_POS + 115; // 16
const LEN = ALIGN + 16; // choice, choice2, low 16×8, mid 16×8, high 256 = 514
const REP_LEN = LEN + 514;
const LITERALS = REP_LEN + 514;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = 2 + 128;
const LEN_HIGH = 2 + 256;

export class XzLzma2Stream {
  private headerDone = false;
  private dictSize = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Bytes in the dictionary since the last reset (how far back a match may reach). */
  private filled = 0;
  private needDictReset = true;
  private needProps = true;
  private ended = false;
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private probs = new Uint16Array(LITERALS + 0x300);
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  // Range decoder over the current chunk.
  private input: Uint8Array = new Uint8Array(0);
  private ip = 0;
  private inEnd = 0;
  private range = 0;
  private code = 0;

  constructor(private readonly maxDictionary: number) {}

  /** Decodes one section (its compressed bytes, after xdelta3's size varint) into `out` exactly. */
  decodeSection(input: Uint8Array, out: Uint8Array): void {
    let p = 0;
    if (!this.headerDone) {
      p = this.readHeaders(input);
      this.headerDone = true;
    }
    let written = 0;
    while (written < out.length) {
      if (this.ended) throw corrupt('stream ended before the section');
      if (p >= input.length) throw corrupt('section ends inside the LZMA2 stream');
      const control = input[p++] as number;
      if (control === 0) {
        this.ended = true;
        continue;
      }
      if (control === 1 || control === 2) {
        if (p + 2 > input.length) throw corrupt('truncated chunk header');
        const size = (((input[p] as number) << 8) | (input[p + 1] as number)) + 1;
        p += 2;
        if (control === 1) this.resetDictionary();
        else if (this.needDictReset) throw corrupt('first chunk does not reset the dictionary');
        if (p + size > input.length || written + size > out.length) throw corrupt('uncompressed chunk overruns the section');
        this.makeRoom(size);
        this.buf.set(input.subarray(p, p + size), this.pos);
        out.set(input.subarray(p, p + size), written);
        this.pos += size;
        this.filled += size;
        p += size;
        written += size;
        continue;
      }
      if (control < 0x80) throw corrupt('invalid chunk control byte');
      if (p + 4 > input.length) throw corrupt('truncated chunk header');
      const unpacked = ((control & 0x1f) << 16) + (((input[p] as number) << 8) | (input[p + 1] as number)) + 1;
      const packed = (((input[p + 2] as number) << 8) | (input[p + 3] as number)) + 1;
      p += 4;
      const reset = (control >> 5) & 3;
      if (reset === 3) this.resetDictionary();
      else if (this.needDictReset) throw corrupt('first chunk does not reset the dictionary');
      if (reset >= 2) {
        if (p >= input.length) throw corrupt('truncated chunk header');
        this.setProps(input[p++] as number);
      } else if (this.needProps) throw corrupt('LZMA chunk without properties');
      if (reset >= 1) this.resetState();
      if (p + packed > input.length || written + unpacked > out.length) throw corrupt('LZMA chunk overruns the section');
      this.makeRoom(unpacked);
      const start = this.pos;
      this.decodeChunk(input, p, p + packed, unpacked);
      out.set(this.buf.subarray(start, start + unpacked), written);
      written += unpacked;
      p += packed;
    }
    if (p !== input.length) throw corrupt('bytes left over after the section');
  }

  private readHeaders(input: Uint8Array): number {
    const magic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
    if (input.length < 12 || magic.some((m, k) => input[k] !== m)) throw corrupt('not an xz stream');
    if (crc32(input.subarray(6, 8)) !== readLe32(input, 8)) throw new DeltaError('checksumMismatch', 'LZMA secondary: xz stream header CRC mismatch');
    if (input[6] !== 0 || ((input[7] as number) & 0xf0) !== 0) throw new DeltaError('unsupported', 'LZMA secondary: unknown xz stream flags');
    const first = input[12];
    if (first === undefined || first === 0) throw corrupt('no xz block');
    const size = (first + 1) * 4;
    if (12 + size > input.length) throw corrupt('truncated xz block header');
    const header = input.subarray(12, 12 + size);
    if (crc32(header.subarray(0, size - 4)) !== readLe32(header, size - 4)) throw new DeltaError('checksumMismatch', 'LZMA secondary: xz block header CRC mismatch');
    const flags = header[1] as number;
    if ((flags & 3) !== 0 || (flags & 0x3c) !== 0) throw new DeltaError('unsupported', 'LZMA secondary: xz filter chains other than LZMA2 alone');
    let h = 2;
    const vli = (): number => {
      let v = 0;
      for (let k = 0; k < 9; k++) {
        const b = header[h++];
        if (b === undefined || h > size - 4) throw corrupt('bad xz block header');
        v += (b & 0x7f) * 2 ** (7 * k);
        if ((b & 0x80) === 0) return v;
      }
      throw corrupt('bad xz block header');
    };
    if (flags & 0x40) vli();
    if (flags & 0x80) vli();
    if (vli() !== 0x21) throw new DeltaError('unsupported', 'LZMA secondary: xz filter other than LZMA2');
    if (vli() !== 1) throw corrupt('bad LZMA2 properties');
    const d = header[h] as number;
    if (d > 40) throw corrupt('bad LZMA2 dictionary size');
    this.dictSize = d === 40 ? 0xffffffff : (2 | (d & 1)) * 2 ** ((d >> 1) + 11);
    if (this.dictSize > this.maxDictionary) {
      // Only what the section outputs can ever be referenced; a dictionary larger than the budget
      // would let a patch make us hold more than a window, so it is refused.
      throw new DeltaError('windowTooLarge', `LZMA secondary: dictionary of ${this.dictSize} bytes over the budget of ${this.maxDictionary}`);
    }
    return 12 + size;
  }

  private resetDictionary(): void {
    this.pos = 0;
    this.filled = 0;
    this.needDictReset = false;
  }

  private setProps(props: number): void {
    if (props > 224) throw corrupt('bad lc/lp/pb');
    this.lc = props % 9;
    const rest = Math.floor(props / 9);
    this.lp = rest % 5;
    this.pb = Math.floor(rest / 5);
    if (this.lc + this.lp > 4) throw corrupt('lc + lp over 4');
    const size = LITERALS + (0x300 << (this.lc + this.lp));
    if (this.probs.length !== size) this.probs = new Uint16Array(size);
    this.needProps = false;
  }

  private resetState(): void {
    this.probs.fill(PROB_INIT);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  /** Room for `n` more bytes after pos, keeping the last dictSize bytes. */
  private makeRoom(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const keep = Math.min(this.pos, this.dictSize);
    if (keep + n <= this.buf.length) {
      this.buf.copyWithin(0, this.pos - keep, this.pos);
    } else {
      const bigger = new Uint8Array(Math.min(Math.max(keep + n, this.buf.length * 2), this.dictSize + (2 << 20)));
      bigger.set(this.buf.subarray(this.pos - keep, this.pos));
      this.buf = bigger;
    }
    this.pos = keep;
  }

  private decodeChunk(input: Uint8Array, from: number, to: number, unpacked: number): void {
    this.input = input;
    this.ip = from;
    this.inEnd = to;
    if (to - from < 5 || input[from] !== 0) throw corrupt('bad range coder start');
    this.code = readBe32(input, from + 1);
    this.range = 0xffffffff;
    this.ip = from + 5;
    const end = this.pos + unpacked;
    const probs = this.probs;
    const buf = this.buf;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    let pos = this.pos;
    let filled = this.filled;
    let state = this.state;
    while (pos < end) {
      const total = filled; // position in the uncompressed stream since the reset, for pos states
      const posState = total & pbMask;
      if (this.bit(IS_MATCH + (state << 4) + posState) === 0) {
        const prev = filled > 0 ? (buf[pos - 1] as number) : 0;
        const base = LITERALS + 0x300 * (((total & lpMask) << this.lc) + (prev >> (8 - this.lc)));
        let symbol = 1;
        if (state >= 7) {
          if (this.rep0 >= filled) throw corrupt('match distance beyond the dictionary');
          let match = buf[pos - this.rep0 - 1] as number;
          while (symbol < 0x100) {
            const matchBit = (match >> 7) & 1;
            match <<= 1;
            const b = this.bit(base + ((1 + matchBit) << 8) + symbol);
            symbol = (symbol << 1) | b;
            if (matchBit !== b) break;
          }
        }
        while (symbol < 0x100) symbol = (symbol << 1) | this.bit(base + symbol);
        buf[pos++] = symbol - 0x100;
        filled++;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let len: number;
      if (this.bit(IS_REP + state) === 0) {
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        len = this.length(LEN, posState);
        state = state < 7 ? 7 : 10;
        this.rep0 = this.distance(len);
        if (this.rep0 === 0xffffffff) throw corrupt('end marker inside LZMA2');
      } else {
        if (filled === 0) throw corrupt('repeat before any data');
        if (this.bit(IS_REP_G0 + state) === 0) {
          if (this.bit(IS_REP0_LONG + (state << 4) + posState) === 0) {
            if (this.rep0 >= filled) throw corrupt('match distance beyond the dictionary');
            state = state < 7 ? 9 : 11;
            buf[pos] = buf[pos - this.rep0 - 1] as number;
            pos++;
            filled++;
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(IS_REP_G1 + state) === 0) dist = this.rep1;
          else {
            if (this.bit(IS_REP_G2 + state) === 0) dist = this.rep2;
            else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.length(REP_LEN, posState);
        state = state < 7 ? 8 : 11;
      }
      const dist = this.rep0 + 1;
      if (dist > filled || dist > this.dictSize) throw corrupt('match distance beyond the dictionary');
      const n = len + 2;
      if (pos + n > end) throw corrupt('match crosses the chunk end');
      for (let k = 0; k < n; k++) buf[pos + k] = buf[pos + k - dist] as number;
      pos += n;
      filled += n;
    }
    if (this.code !== 0 || this.ip !== this.inEnd) throw corrupt('chunk does not end where its header says');
    this.pos = pos;
    this.filled = filled;
    this.state = state;
  }

  private normalize(): void {
    if (this.range < 0x1000000) {
      if (this.ip >= this.inEnd) throw corrupt('chunk data exhausted');
      this.range = (this.range * 256) >>> 0;
      this.code = ((this.code << 8) | (this.input[this.ip++] as number)) >>> 0;
    }
  }

  private bit(i: number): number {
    const p = this.probs[i] as number;
    const bound = (this.range >>> 11) * p;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      this.probs[i] = p + ((2048 - p) >> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      this.probs[i] = p - (p >> 5);
      b = 1;
    }
    this.normalize();
    return b;
  }

  private tree(base: number, bits: number): number {
    let m = 1;
    for (let k = 0; k < bits; k++) m = (m << 1) | this.bit(base + m);
    return m - (1 << bits);
  }

  private reverseTree(base: number, bits: number): number {
    let m = 1;
    let symbol = 0;
    for (let k = 0; k < bits; k++) {
      const b = this.bit(base + m);
      m = (m << 1) | b;
      symbol |= b << k;
    }
    return symbol;
  }

  private length(base: number, posState: number): number {
    if (this.bit(base) === 0) return this.tree(base + LEN_LOW + (posState << 3), 3);
    if (this.bit(base + LEN_CHOICE2) === 0) return 8 + this.tree(base + LEN_MID + (posState << 3), 3);
    return 16 + this.tree(base + LEN_HIGH, 8);
  }

  private distance(len: number): number {
    const slot = this.tree(POS_SLOT + (Math.min(len, 3) << 6), 6);
    if (slot < 4) return slot;
    const direct = (slot >> 1) - 1;
    let dist = ((2 | (slot & 1)) << direct) >>> 0;
    if (slot < 14) return dist + this.reverseTree(SPEC_POS + dist - slot, direct);
    let extra = 0;
    for (let k = 0; k < direct - 4; k++) {
      this.range >>>= 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      extra = extra * 2 + b;
      this.normalize();
    }
    dist += extra * 16 + this.reverseTree(ALIGN, 4);
    return dist;
  }
}

function readLe32(b: Uint8Array, p: number): number {
  return ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24)) >>> 0;
}

function readBe32(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
}
