/**
 * Byte helpers the portable agent needs. QuickJS has no TextEncoder/TextDecoder, atob/btoa or
 * Buffer, so UTF-8, hex and base64 live here as plain code.
 */

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Constant-time comparison for digests and MACs (no early exit on the first difference). Also
 * the plain `equalBytes`: one loop in a QuickJS heap rather than two.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export const equalBytes = timingSafeEqual;

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    out += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

export class EncodingError extends Error {
  // Declared and set in the constructor, not a class field: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'encoding';
  constructor(message: string) {
    super(message);
    this.code = 'encoding';
    this.name = 'EncodingError';
  }
}

export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new EncodingError(`not a hex string: ${text.slice(0, 40)}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  return out.slice(0, utf8EncodeInto(text, out, 0));
}

/**
 * Writes `text` as UTF-8 into `out` from `at` (room for 3 bytes per UTF-16 unit) and returns
 * where it ended. Surrogate pairs combine; a lone surrogate becomes U+FFFD, as TextEncoder does.
 */
export function utf8EncodeInto(text: string, out: Uint8Array, at: number): number {
  let i = at;
  for (let k = 0; k < text.length; k++) {
    let code = text.charCodeAt(k);
    if (code < 0x80) {
      out[i++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = k + 1 < text.length ? text.charCodeAt(k + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        k++;
      } else code = 0xfffd;
    } else if (code >= 0xdc00 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x800) {
      out[i++] = 0xc0 | (code >> 6);
    } else if (code < 0x10000) {
      out[i++] = 0xe0 | (code >> 12);
      out[i++] = 0x80 | ((code >> 6) & 63);
    } else {
      out[i++] = 0xf0 | (code >> 18);
      out[i++] = 0x80 | ((code >> 12) & 63);
      out[i++] = 0x80 | ((code >> 6) & 63);
    }
    out[i++] = 0x80 | (code & 63);
  }
  return i;
}

/** Decodes UTF-8; malformed sequences become U+FFFD (as TextDecoder without `fatal`). */
export function utf8Decode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] as number;
    let code = 0xfffd;
    let need = 0;
    let min = 0;
    if (b0 < 0x80) {
      code = b0;
    } else if (b0 >= 0xc2 && b0 < 0xe0) {
      need = 1;
      code = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 < 0xf0) {
      need = 2;
      code = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 < 0xf5) {
      need = 3;
      code = b0 & 0x07;
      min = 0x10000;
    }
    i++;
    if (need > 0) {
      let ok = i + need <= bytes.length;
      for (let k = 0; ok && k < need; k++) {
        const b = bytes[i + k] as number;
        if ((b & 0xc0) !== 0x80) ok = false;
        else code = (code << 6) | (b & 0x3f);
      }
      if (ok && code >= min && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) i += need;
      else code = 0xfffd;
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      out += String.fromCharCode(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
    } else out += String.fromCharCode(code);
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    // The last group may be short: its missing bytes count as zero and their characters are '='.
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '=');
  }
  return out;
}

/** Decodes standard base64; whitespace is ignored (SyncML wraps it), anything else invalid throws. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/[\s]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new EncodingError('not base64');
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((clean.length / 4) * 3 - pad);
  for (let i = 0, o = 0; i < clean.length; i += 4) {
    let n = 0;
    // '=' is B64[64]: it counts as zero bits.
    for (let k = 0; k < 4; k++) n = (n << 6) | (B64.indexOf(clean[i + k]!) & 63);
    for (let shift = 16; shift >= 0 && o < out.length; shift -= 8) out[o++] = (n >> shift) & 255;
  }
  return out;
}

/** UTF-8 byte order comparison of two JS strings (code point order = UTF-8 byte order). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
