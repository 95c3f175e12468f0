/**
 * Zero-free byte encoding (COBS, consistent overhead byte stuffing) for store records.
 *
 * Why: a record starts with a 0x00 byte and the rest of it is encoded here, so it holds no 0x00
 * byte at all. Recovery only ever starts parsing at a 0x00 byte, so it can never start inside a
 * record, whatever the caller put into a value. NOR flash makes this hold for torn writes too:
 * programming only clears bits, so a byte meant to be non-zero is non-zero in every partial state
 * between erased (0xFF) and the intended value.
 *
 * Encoding: the data is cut at its zero bytes into segments; each segment becomes groups of a
 * code byte c (1–255) followed by c−1 data bytes. c = 255 means "254 bytes, segment continues";
 * c < 255 ends the segment, and a zero byte follows it unless it is the last segment. Output
 * length is n + 1 + Σ floor(segment/254) ≤ n + 1 + floor(n/254) for n input bytes.
 */

/** Upper bound of the encoded length of `length` bytes, whatever their values. */
export function zeroFreeBound(length: number): number {
  return length + 1 + Math.floor(length / 254);
}

export function encodeZeroFree(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(zeroFreeBound(data.length));
  let codeAt = 0;
  let code = 1;
  let at = 1;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i] as number;
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
      continue;
    }
    out[at++] = byte;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, at);
}

/**
 * Reads zero-free encoded bytes from `bytes[start..end)` one decoded byte at a time, so a record's
 * header can be decoded before its length is known. Any 0x00 byte or running past `end` fails.
 */
export class ZeroFreeReader {
  // Declared and set in the constructor, not #private names nor field initializers (see KeyValueStore).
  private declare readonly bytes: Uint8Array;
  private declare readonly end: number;
  private declare at: number;
  /** Data bytes left in the current group. */
  private declare left: number;
  /** The current group ends its segment: a zero byte follows unless the data ends there. */
  private declare terminal: boolean;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.bytes = bytes;
    this.at = start;
    this.end = Math.min(end, bytes.length);
    this.left = 0;
    this.terminal = false;
  }

  /** Offset just after the last encoded byte consumed. */
  get offset(): number {
    return this.at;
  }

  /** The next decoded byte, or undefined when the encoding is invalid or truncated. */
  next(): number | undefined {
    while (this.left === 0) {
      if (this.terminal) {
        this.terminal = false;
        return 0;
      }
      if (!this.group()) return undefined;
    }
    if (this.at >= this.end) return undefined;
    const byte = this.bytes[this.at++] as number;
    if (byte === 0) return undefined;
    this.left--;
    return byte;
  }

  /** Fills `out` entirely; false when the encoding ends or breaks first. */
  read(out: Uint8Array): boolean {
    for (let i = 0; i < out.length; i++) {
      const byte = this.next();
      if (byte === undefined) return false;
      out[i] = byte;
    }
    return true;
  }

  /** True when the data may end here: the last group is complete and ends its segment. */
  finish(): boolean {
    // After a 255 group or a consumed zero the encoder always writes one more group; it must be empty.
    if (this.left === 0 && !this.terminal && !this.group()) return false;
    return this.left === 0 && this.terminal;
  }

  private group(): boolean {
    if (this.at >= this.end) return false;
    const code = this.bytes[this.at++] as number;
    if (code === 0) return false;
    this.left = code - 1;
    this.terminal = code !== 0xff;
    return true;
  }
}
