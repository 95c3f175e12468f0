/**
 * The SyncML builder's rarely needed part (./build.ts): mixed content (text around elements, a
 * binary Data in several pieces, raw elements), content the model has no field for (kept in
 * `extra` in lenient mode, refused with its byte offset in strict mode), error offsets, and whole
 * WBXML documents as raw elements. A DM session loads it with the first message that needs it
 * (./lazy-decode.ts): the messages of a FUMO cycle never do. ./decode.ts always has it.
 */
import { OPAQUE_WBXML, RECORD_WORDS, TAG_UNKNOWN, TokenKind, tagName } from '../../wasm/src/syncml-tokens.ts';
import { utf8Encode } from '../util/bytes.ts';
import { type Bag, Builder, isSpace, type RareBuilder } from './build.ts';
import { SyncmlModelError } from './errors.ts';
import type { XmlContent, XmlElement } from './model.ts';
import { namesForPublicId } from './nested-names.ts';
import { decodeUtf8Span } from './text.ts';

/**
 * Mixed content up to the Close of the current element, which it consumes: adjacent text merged,
 * elements as raw XmlElements (strict mode refuses them, naming where). WBXML OPAQUE parts are
 * also collected into `bytes` when asked (a binary Data value in several pieces).
 */
function content(b: Builder, where: 'text' | 'data' | 'raw', bytes?: Uint8Array[]): XmlContent {
  const t = b.t;
  const out: XmlContent = [];
  let text = '';
  let hasText = false;
  for (;;) {
    const p = b.p;
    if (p >= b.end) throw new SyncmlModelError('badStructure', b.input.length, 'the token stream ends inside an element');
    const kind = t[p] as number;
    if (kind === TokenKind.Close) {
      b.p = p + RECORD_WORDS;
      break;
    }
    if (kind === TokenKind.Open) {
      if (b.strict && where !== 'raw') throw new SyncmlModelError('unknownElement', offsetAt(b, p), `<${nameAt(b, p)}> is not allowed inside ${where === 'data' ? '<Data>' : 'a text element'}`);
      if (hasText) out.push(text);
      text = '';
      hasText = false;
      b.p = p + RECORD_WORDS;
      out.push({ name: nameAt(b, p), children: content(b, 'raw') });
      continue;
    }
    const start = t[p + 2] as number;
    const end = t[p + 3] as number;
    if (kind === TokenKind.Text) text += b.textOf(t[p + 1] as number, start, end);
    else if (kind === TokenKind.Char) text += String.fromCodePoint(t[p + 1] as number);
    else if (kind === TokenKind.Opaque) {
      if (bytes && t[p + 1] === OPAQUE_WBXML) {
        if (hasText) bytes.push(utf8Encode(text));
        text = '';
        bytes.push(b.input.slice(start, end));
      } else text += b.textOf(0, start, end);
    } else throw new SyncmlModelError('badStructure', offsetAt(b, p), `unknown token kind ${kind}`);
    hasText = true;
    b.p = p + RECORD_WORDS;
  }
  if (hasText && text !== '') out.push(text);
  else if (hasText && out.length === 0) out.push('');
  return out;
}

function nameAt(b: Builder, p: number): string {
  const code = b.t[p + 1] as number;
  if (code !== TAG_UNKNOWN) return b.names(code) ?? `tag-0x${code.toString(16)}`;
  const start = b.t[p + 2] as number;
  const end = b.t[p + 3] as number;
  return end > start ? b.textOf(0, start, end) : 'unknown';
}

/**
 * What the model has no place for, at the current record inside element `parent`: an element or
 * text (white space between elements is layout and skipped); strict mode refuses it, lenient mode
 * keeps it in `extra`, in document order.
 */
function extra(b: Builder, bag: Bag, parent: number): void {
  const t = b.t;
  const p = b.p;
  const kind = t[p];
  let kept: XmlElement | string;
  if (kind === TokenKind.Open) {
    if (b.strict) throw new SyncmlModelError('unknownElement', offsetAt(b, p), `<${nameAt(b, p)}> is not allowed in <${tagName(parent)}>`);
    b.p = p + RECORD_WORDS;
    kept = { name: nameAt(b, p), children: content(b, 'raw') };
  } else {
    const start = t[p + 2] as number;
    const end = t[p + 3] as number;
    if (kind === TokenKind.Text) {
      let i = start;
      while (i < end && isSpace(b.input[i] as number)) i++;
      if (i === end) {
        b.p = p + RECORD_WORDS;
        return;
      }
    } else if (kind !== TokenKind.Opaque && kind !== TokenKind.Char) throw new SyncmlModelError('badStructure', offsetAt(b, p), `unknown token kind ${String(kind)}`);
    if (b.strict) throw new SyncmlModelError('unexpectedText', offsetAt(b, p), `text is not allowed directly in <${tagName(parent)}>`);
    b.p = p + RECORD_WORDS;
    kept = kind === TokenKind.Char ? String.fromCodePoint(t[p + 1] as number) : b.textOf(kind === TokenKind.Text ? (t[p + 1] as number) : 0, start, end);
  }
  ((bag['extra'] as XmlContent | undefined) ?? (bag['extra'] = [] as XmlContent) as XmlContent).push(kept);
}

/** Byte offset for record `p`: its own span, else the end of the nearest span before it. */
function offsetAt(b: Builder, p: number): number {
  const t = b.t;
  for (let q = p; q >= 0; q -= RECORD_WORDS) {
    const start = t[q + 2] as number;
    const end = t[q + 3] as number;
    if (q === p && end > start) return start;
    if (q !== p && end > 0) return end;
  }
  return 0;
}

/** The rare part, as the builder takes it (`decodeWith`'s `rare`). */
export const RARE: RareBuilder = { content, extra, offsetAt };

/**
 * Builds raw elements from the token records of any WBXML document (lenient: nothing is refused),
 * naming elements by the tables of its public id (numeric, or the literal [start,end) of input).
 */
export function buildDocument(input: Uint8Array, tokens: Int32Array, count: number, publicId: { id: number; start: number; end: number }): XmlElement {
  const end = Math.min(tokens.length, count * RECORD_WORDS);
  const names = namesForPublicId(publicId.id, decodeUtf8Span(input, publicId.start, publicId.end));
  // Any document as raw elements, whatever its code pages (the DM agent never needs it).
  const builder = new Builder(input, tokens, end, false, RARE, names, false);
  if (end < RECORD_WORDS || tokens[0] !== TokenKind.Open) throw new SyncmlModelError('badStructure', offsetAt(builder, 0), 'the document has no root element');
  builder.p = RECORD_WORDS;
  return { name: nameAt(builder, 0), children: content(builder, 'raw') };
}
