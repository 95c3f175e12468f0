/** A growable byte buffer for the WBXML encoder: bytes, mb_u_int32 (WBXML §5.1) and UTF-8. */
import { SyncmlModelError } from './errors.ts';

export class ByteWriter {
  buffer: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buffer = new Uint8Array(capacity);
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  byte(value: number): void {
    if (this.length === this.buffer.length) this.ensure(1);
    this.buffer[this.length++] = value;
  }

  /** Multi-byte unsigned integer: 7 bits a byte, most significant first, high bit = more follow. */
  mbUint(value: number): void {
    this.ensure(5);
    let shift = 28;
    while (shift > 0 && value >>> shift === 0) shift -= 7;
    for (; shift > 0; shift -= 7) this.buffer[this.length++] = 0x80 | ((value >>> shift) & 0x7f);
    this.buffer[this.length++] = value & 0x7f;
  }

  bytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** UTF-8 of `text`; NUL is refused (it would end a WBXML inline string). Lone surrogates → U+FFFD. */
  utf8(text: string): void {
    this.ensure(text.length * 3);
    const out = this.buffer;
    let n = this.length;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        if (c === 0) throw new SyncmlModelError('badInput', -1, 'text holds U+0000, which a WBXML string cannot carry');
        out[n++] = c;
        continue;
      }
      if (c < 0x800) {
        out[n++] = 0xc0 | (c >> 6);
        out[n++] = 0x80 | (c & 63);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = text.charCodeAt(i + 1);
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 63);
          out[n++] = 0x80 | ((c >> 6) & 63);
          out[n++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
    this.length = n;
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
