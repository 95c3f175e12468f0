/**
 * Token stream (wasm/src/syncml-tokens.ts) → typed message model, in one pass over the records:
 * each element's schema (schema.ts) maps a child's code straight to a model property, and a text
 * span is decoded once, where it lands. No generic tree is built except for content the model has
 * no field for, which lenient mode keeps as raw elements (`extra`, or elements inside `Data`) and
 * strict mode rejects with the byte offset. That rarely needed part (mixed content, elements outside
 * the model, error offsets) is ./build-rare.ts, given to the builder by its caller: ./decode.ts
 * always, a DM session (./lazy-decode.ts) only once a message needs it.
 */
import { OPAQUE_WBXML, TEXT_RAW, TEXT_SPACE, TokenKind, RECORD_WORDS, tagName, FrameCode } from '../../wasm/src/syncml-tokens.ts';
import { concatBytes, utf8Decode } from '../util/bytes.ts';
import type { TagNames } from './nested-names.ts';
import { SyncmlModelError } from './errors.ts';
import type { DecodeOptions, Decoded } from './decode.ts';
import { type DataValue, dataText, type SyncMLMessage, type XmlContent } from './model.ts';
import { FieldKind, fieldByCode, FIELDS, Model, PROPS, type Schema } from './schema.ts';
import { decodeUtf8Span, decodeXmlSpan, wholeText } from './text.ts';

export type DecodeMode = 'strict' | 'lenient';

/** The builder's rarely needed part (./build-rare.ts). */
export interface RareBuilder {
  /** Mixed content up to the Close of the current element (./build-rare.ts `content`). */
  content(b: Builder, where: 'text' | 'data' | 'raw', bytes?: Uint8Array[]): XmlContent;
  /** What the model has no place for, at the current record inside element `parent`: kept in `bag.extra` (lenient) or refused. */
  extra(b: Builder, bag: Bag, parent: number): void;
  /** Byte offset for record `p` (for an error). */
  offsetAt(b: Builder, p: number): number;
}

/**
 * Thrown (this one object) when the input needs the rare part and the builder was given none: the
 * caller loads ./build-rare.ts and builds again (./lazy-decode.ts).
 */
export const NEEDS_RARE = new Error('this message needs the SyncML builder\'s rare part (build-rare.ts), which is not loaded');

// The token constants are used as imported (const enums and numbers, inlined by the bundler), not
// copied into module-local constants: each top-level binding is a variable and a name (an atom) of
// the module in a QuickJS heap.

export type Bag = Record<string, unknown>;

export function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

export class Builder {
  // Declared and set in the constructor, not class fields: a class with fields gets one more function (their initializer) in a QuickJS heap.
  declare p: number;
  /** The input as one string when byte offsets are character offsets (text.ts `wholeText`): spans are slices of it. */
  declare readonly whole: string | undefined;
  declare readonly input: Uint8Array;
  declare readonly t: Int32Array;
  declare readonly end: number;
  declare readonly strict: boolean;
  declare readonly names: TagNames;
  declare readonly parts: RareBuilder | undefined;

  constructor(input: Uint8Array, t: Int32Array, end: number, strict: boolean, rare: RareBuilder | undefined, names: TagNames = tagName, whole = true) {
    this.input = input;
    this.t = t;
    this.end = end;
    this.strict = strict;
    this.parts = rare;
    this.names = names;
    this.p = 0;
    this.whole = whole ? wholeText(input) : undefined;
  }

  /** The rare part, or NEEDS_RARE thrown when the builder has none. */
  rare(): RareBuilder {
    if (this.parts === undefined) throw NEEDS_RARE;
    return this.parts;
  }

  /**
   * The text of span [start,end): UTF-8 (WBXML strings, CDATA, names: `tag` 0), and with `tag`
   * TEXT_RAW XML character data with its references resolved (strict: a bad one is an error).
   */
  textOf(tag: number, start: number, end: number): string {
    if ((tag & TEXT_RAW) !== 0) for (let i = start; i < end; i++) if (this.input[i] === 0x26 /* & */) return decodeXmlSpan(this.input, start, end, this.strict);
    return this.whole !== undefined ? this.whole.slice(start, end) : decodeUtf8Span(this.input, start, end);
  }

  message(): SyncMLMessage {
    const t = this.t;
    if (this.end < RECORD_WORDS || t[0] !== TokenKind.Open || t[1] !== FrameCode.SyncML) {
      throw new SyncmlModelError('badStructure', this.rare().offsetAt(this, 0), 'the document root is not <SyncML>');
    }
    this.p = RECORD_WORDS;
    const message = this.object(Model.SyncML, FrameCode.SyncML, {}) as unknown as SyncMLMessage;
    if (!message.body) {
      if (this.strict) throw new SyncmlModelError('badStructure', this.rare().offsetAt(this, this.p - RECORD_WORDS), '<SyncML> has no <SyncBody>');
      message.body = { commands: [] };
    }
    if (!message.body.commands) message.body.commands = [];
    return message;
  }

  /** Fills `bag` from the children of element `code` (model `schema`), whose Open was just consumed; consumes its Close. */
  private object(schema: Schema, code: number, bag: Bag): Bag {
    const t = this.t;
    for (;;) {
      const p = this.p;
      if (p >= this.end) throw new SyncmlModelError('badStructure', this.input.length, `the token stream ends inside ${tagName(code)}`);
      const kind = t[p] as number;
      if (kind === TokenKind.Close) {
        this.p = p + RECORD_WORDS;
        return bag;
      }
      if (kind !== TokenKind.Open) {
        // Indentation between elements: the tokenizer already flagged it as white space.
        if (kind === TokenKind.Text && ((t[p + 1] as number) & TEXT_SPACE) !== 0) this.p = p + RECORD_WORDS;
        else this.rare().extra(this, bag, code);
        continue;
      }
      const child = t[p + 1] as number;
      const field = fieldByCode(schema, child);
      if (field < 0) {
        this.rare().extra(this, bag, code);
        continue;
      }
      this.p = p + RECORD_WORDS;
      const word = FIELDS.charCodeAt(field * 3 + 1);
      const prop = PROPS[FIELDS.charCodeAt(field * 3 + 2)] as string;
      switch (word & 7) {
        case FieldKind.Text:
          bag[prop] = this.text();
          break;
        case FieldKind.TextList:
          ((bag[prop] as string[] | undefined) ?? (bag[prop] = [] as string[]) as string[]).push(this.text());
          break;
        case FieldKind.Flag:
          this.text();
          bag[prop] = true;
          break;
        case FieldKind.Child:
          bag[prop] = this.object(word >> 3, child, {});
          break;
        case FieldKind.ChildList:
          ((bag[prop] as Bag[] | undefined) ?? (bag[prop] = [] as Bag[]) as Bag[]).push(this.object(word >> 3, child, {}));
          break;
        case FieldKind.Data:
          bag[prop] = this.data();
          break;
        case FieldKind.Command:
          ((bag[prop] as Bag[] | undefined) ?? (bag[prop] = [] as Bag[]) as Bag[]).push(this.object(word >> 3, child, { cmd: tagName(child) }));
          break;
      }
    }
  }

  /** Trimmed text content of a leaf element; consumes its Close. */
  private text(): string {
    const t = this.t;
    const p = this.p;
    const kind = t[p];
    if (kind === TokenKind.Close) {
      this.p = p + RECORD_WORDS;
      return '';
    }
    if (kind === TokenKind.Text && t[p + RECORD_WORDS] === TokenKind.Close) {
      this.p = p + 2 * RECORD_WORDS;
      const input = this.input;
      let start = t[p + 2] as number;
      let end = t[p + 3] as number;
      while (start < end && isSpace(input[start] as number)) start++;
      while (end > start && isSpace(input[end - 1] as number)) end--;
      return this.textOf(t[p + 1] as number, start, end);
    }
    // Text around elements (lenient): the elements' text in place, then trimmed.
    const text = dataText(this.rare().content(this, 'text'), utf8Decode) as string;
    let start = 0;
    let end = text.length;
    while (start < end && isSpace(text.charCodeAt(start))) start++;
    while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
    return start === 0 && end === text.length ? text : text.slice(start, end);
  }

  /** `Data` content, exactly; consumes its Close. */
  private data(): DataValue {
    const t = this.t;
    const p = this.p;
    const kind = t[p];
    if (t[p + RECORD_WORDS] === TokenKind.Close || kind === TokenKind.Close) {
      if (kind === TokenKind.Close) {
        this.p = p + RECORD_WORDS;
        return '';
      }
      const start = t[p + 2] as number;
      const end = t[p + 3] as number;
      if (kind === TokenKind.Text) {
        this.p = p + 2 * RECORD_WORDS;
        return this.textOf(t[p + 1] as number, start, end);
      }
      if (kind === TokenKind.Opaque && t[p + 1] === OPAQUE_WBXML) {
        this.p = p + 2 * RECORD_WORDS;
        return this.input.slice(start, end);
      }
    }
    const bytes: Uint8Array[] = [];
    const parts = this.rare().content(this, 'data', bytes);
    for (const part of parts) if (typeof part !== 'string') return parts;
    if (bytes.length > 0) return concatBytes(bytes);
    return parts.join('');
  }
}

/**
 * Tokenizes `bytes` (the options' tokenizer) and builds the model from its records, with the rare
 * part `rare` (or NEEDS_RARE thrown when the message needs it and it is missing): ./decode.ts and
 * ./lazy-decode.ts. XML is decoded as one string first (text.ts `wholeText`; not WBXML, whose
 * bytes are mostly markup).
 */
export function decodeWith(bytes: Uint8Array, options: DecodeOptions, rare: RareBuilder | undefined): Decoded {
  const mode = options.mode ?? 'strict';
  const stream = options.tokenize(bytes, { strict: mode === 'strict', format: options.format ?? 'auto' });
  const end = Math.min(stream.tokens.length, stream.count * RECORD_WORDS);
  return { message: new Builder(bytes, stream.tokens, end, mode !== 'lenient', rare, tagName, stream.format === 'xml').message(), encoding: stream.format };
}
