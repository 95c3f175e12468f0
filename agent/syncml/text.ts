/**
 * Turning input spans into strings, once each: UTF-8 (ASCII fast path; the host's TextDecoder when
 * it has one, our portable decoder under QuickJS) and XML references (the five entities, `&#N;`,
 * `&#xH;`). A reference problem is a typed error with its byte offset in strict mode; lenient mode
 * keeps the text as written (real captures contain bare `&`).
 */
import { utf8Decode } from '../util/bytes.ts';
import { SyncmlModelError } from './errors.ts';

interface Utf8Decoder {
  decode(bytes: Uint8Array): string;
}
let hostDecoder: Utf8Decoder | undefined;
{
  // A block-scoped name rather than a module constant (each of those is a name, an atom, in a QuickJS heap).
  const HostDecoder = (globalThis as { TextDecoder?: new () => Utf8Decoder }).TextDecoder;
  if (HostDecoder) hostDecoder = new HostDecoder();
}

/** Inlined where used (`const enum`): no module variables (each one a name, an atom, in a QuickJS heap). */
const enum Span {
  /** Bytes per String.fromCharCode call. */
  chunk = 4096,
  amp = 0x26,
}

/** UTF-8 bytes [start,end) to a string; malformed sequences become U+FFFD. */
export function decodeUtf8Span(input: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if ((input[i] as number) >= 0x80) return hostDecoder ? hostDecoder.decode(input.subarray(start, end)) : utf8Decode(input.subarray(start, end));
  }
  // ASCII. Short spans (most SyncML leaves) as one call: no subarray, no string concatenation.
  const b = input;
  const s = start;
  switch (end - start) {
    case 0: return '';
    case 1: return String.fromCharCode(b[s] as number);
    case 2: return String.fromCharCode(b[s] as number, b[s + 1] as number);
    case 3: return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number);
    case 4: return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number);
    case 5: return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number);
    case 6: return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number);
    default: break;
  }
  let out = '';
  for (let i = start; i < end; i += Span.chunk) {
    out += String.fromCharCode.apply(null, input.subarray(i, Math.min(end, i + Span.chunk)) as unknown as number[]);
  }
  return out;
}

/** XML character data [start,end): UTF-8 with references resolved. */
export function decodeXmlSpan(input: Uint8Array, start: number, end: number, strict: boolean): string {
  let i = start;
  while (i < end && input[i] !== Span.amp) i++;
  if (i === end) return decodeUtf8Span(input, start, end);
  let out = decodeUtf8Span(input, start, i);
  while (i < end) {
    // input[i] is '&'
    let semi = i + 1;
    while (semi < end && semi - i <= 12 && input[semi] !== 0x3b) semi++;
    const resolved = semi < end && input[semi] === 0x3b ? resolveReference(input, i + 1, semi) : undefined;
    if (resolved === undefined) {
      if (strict) throw new SyncmlModelError('badReference', i, 'XML text: "&" does not start a known entity or character reference');
      out += '&';
      i++;
    } else {
      out += resolved;
      i = semi + 1;
    }
    let next = i;
    while (next < end && input[next] !== Span.amp) next++;
    out += decodeUtf8Span(input, i, next);
    i = next;
  }
  return out;
}

/** The text of reference name [start,end) (between `&` and `;`), or undefined when it is not one. */
function resolveReference(input: Uint8Array, start: number, end: number): string | undefined {
  if (input[start] === 0x23) {
    const hex = input[start + 1] === 0x78;
    let value = 0;
    let i = start + (hex ? 2 : 1);
    if (i >= end) return undefined;
    for (; i < end; i++) {
      const c = input[i] as number;
      let digit: number;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (hex && c >= 0x61 && c <= 0x66) digit = c - 0x57;
      else if (hex && c >= 0x41 && c <= 0x46) digit = c - 0x37;
      else return undefined;
      value = value * (hex ? 16 : 10) + digit;
      if (value > 0x10ffff) return undefined;
    }
    // Only characters XML allows (as the tokenizer's strict check): no NUL, controls, surrogates, U+FFFE/FFFF.
    if (value < 0x20 ? value !== 0x9 && value !== 0xa && value !== 0xd : (value >= 0xd800 && value <= 0xdfff) || value === 0xfffe || value === 0xffff) return undefined;
    return String.fromCodePoint(value);
  }
  switch (decodeUtf8Span(input, start, end)) {
    case 'lt': return '<';
    case 'gt': return '>';
    case 'amp': return '&';
    case 'quot': return '"';
    case 'apos': return "'";
    default: return undefined;
  }
}

/**
 * The whole input as one string, when that gives byte offsets as character offsets: the host's
 * UTF-8 decoder (a native fast path) gave one UTF-16 unit per byte (every byte ASCII, or a lone
 * invalid byte that any decoding turns into one U+FFFD), so a span is a `slice` of it (V8 shares
 * the characters of longer slices rather than copying them). Otherwise (non-ASCII text, a host
 * without TextDecoder such as QuickJS) undefined: each span is decoded on its own.
 */
export function wholeText(input: Uint8Array): string | undefined {
  const text = hostDecoder?.decode(input);
  return text !== undefined && text.length === input.length ? text : undefined;
}

/** UTF-8 length of a string (lone surrogates count as U+FFFD, 3 bytes, as the encoders write them). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2; // 4 bytes for 2 UTF-16 units
      i++;
    } else length += 2;
  }
  return length;
}

/** Whether bytes are well-formed UTF-8 (then a string holds them without loss). */
export function isUtf8(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] as number;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    const need = b0 >= 0xc2 && b0 < 0xe0 ? 1 : b0 >= 0xe0 && b0 < 0xf0 ? 2 : b0 >= 0xf0 && b0 < 0xf5 ? 3 : -1;
    if (need < 0) return false;
    let code = b0 & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return false;
      code = (code << 6) | (b & 0x3f);
    }
    if (code < (need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/**
 * Escapes character data (the inverse of the references above); refuses characters XML 1.0 cannot
 * carry. Here rather than in the XML sink, so the TNDS writer (../omadm/list.ts) does not need the sink.
 */
export function escapeXmlText(text: string): string {
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x26 || c === 0x3c || c === 0x3e || c < 0x20) break;
  }
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x0d) out += '&#13;';
    else if (c < 0x20 && c !== 0x09 && c !== 0x0a) throw new SyncmlModelError('badInput', -1, `text holds U+${c.toString(16).padStart(4, '0')}, which XML cannot carry`);
    else out += text.charAt(i);
  }
  return out;
}
