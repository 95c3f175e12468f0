/**
 * Sink writing canonical SyncML XML: `<SyncML xmlns="SYNCML:SYNCML1.x">`, MetInf elements with
 * `xmlns="syncml:metinf"` where they start, text escaped (`&amp; &lt; &gt;`, CR as `&#13;` so it
 * survives XML line-end normalisation), `Data` written exactly. `pretty` indents by two spaces,
 * one element per line, never inside `Data`. Binary `Data` is written as its text when it is UTF-8,
 * else as base64 (the XML form of binary SyncML data).
 */
import { toBase64 } from '../util/bytes.ts';
import { PAGE_METINF } from '../../wasm/src/syncml-tokens.ts';
import type { EncoderSink } from './encoder-sink.ts';
import { SyncmlModelError } from './errors.ts';
import type { DataValue, XmlContent } from './model.ts';
import { decodeUtf8Span, escapeXmlText, isUtf8, utf8Length } from './text.ts';

export interface XmlSinkOptions {
  pretty?: boolean;
  /** Write `<?xml version="1.0" encoding="UTF-8"?>` first (default true). */
  declaration?: boolean;
}

export class XmlSink implements EncoderSink<string> {
  // Declared and set in the constructor, not class fields: a class with fields gets one more function (their initializer) in a QuickJS heap.
  private declare parts: string[];
  private declare depth: number;
  /** The depth inside the open element that declared the MetInf namespace (its children inherit it); 0: none open. */
  private declare ns: number;
  /** Line end ('' unless pretty). */
  private declare readonly nl: string;
  private declare readonly declaration: boolean;
  private declare bytes: number;
  /** Per mark, 4 numbers: parts.length, depth, ns, bytes. */
  private declare readonly marks: number[];
  /** parts.length up to which `bytes` is counted. */
  private declare counted: number;

  constructor(options: XmlSinkOptions = {}) {
    this.parts = [];
    this.depth = 0;
    this.ns = 0;
    this.nl = options.pretty === true ? '\n' : '';
    this.declaration = options.declaration !== false;
    this.bytes = 0;
    this.marks = [];
    this.counted = 0;
  }

  begin(version: string): void {
    if (this.declaration) this.parts.push(`<?xml version="1.0" encoding="UTF-8"?>${this.nl}`);
    this.parts.push(`<SyncML xmlns="SYNCML:SYNCML${escapeXmlText(version)}">${this.nl}`);
    this.depth = 1;
  }

  finishRoot(): void {
    this.parts.push(`</SyncML>${this.nl}`);
    this.depth = 0;
  }

  start(code: number, name: string, hasContent: boolean): void {
    this.line(code, name, hasContent ? undefined : '');
    if (!hasContent) return;
    this.depth++;
    if (this.ns === 0 && code >> 8 === PAGE_METINF) this.ns = this.depth;
  }

  end(_code: number, name: string): void {
    if (this.ns === this.depth) this.ns = 0;
    this.depth--;
    this.parts.push(`${this.nl && '  '.repeat(this.depth)}</${name}>${this.nl}`);
  }

  /**
   * One element on one line, `body` already escaped; '' writes it empty, undefined only its start
   * tag. The start tag gets the indentation and, where that page starts, the MetInf namespace.
   */
  private line(code: number, name: string, body: string | undefined): void {
    const open = `${this.nl && '  '.repeat(this.depth)}<${name}${this.ns === 0 && code >> 8 === PAGE_METINF ? ' xmlns="syncml:metinf"' : ''}`;
    this.parts.push(body === undefined ? `${open}>${this.nl}` : body === '' ? `${open}/>${this.nl}` : `${open}>${body}</${name}>${this.nl}`);
  }

  leaf(code: number, name: string, text: string): void {
    this.line(code, name, escapeXmlText(text));
  }

  data(code: number, name: string, value: DataValue): void {
    let body: string;
    if (typeof value === 'string') body = escapeXmlText(value);
    else if (value instanceof Uint8Array) {
      // As its text when that is UTF-8 XML can carry (no control characters but tab, LF, CR), else base64.
      let text = isUtf8(value);
      for (let i = 0; text && i < value.length; i++) {
        const b = value[i] as number;
        if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) text = false;
      }
      body = text ? escapeXmlText(decodeUtf8Span(value, 0, value.length)) : toBase64(value);
    }
    else body = rawXml(value);
    this.line(code, name, body);
  }

  raw(content: XmlContent): void {
    for (const node of content) {
      if (typeof node === 'string') {
        if (node.trim() !== '') this.parts.push(escapeXmlText(node));
      } else this.parts.push(`${this.nl && '  '.repeat(this.depth)}${rawXml([node])}${this.nl}`);
    }
  }

  mark(): number {
    this.marks.push(this.parts.length, this.depth, this.ns, this.size());
    return this.marks.length / 4 - 1;
  }

  reset(mark: number): void {
    const marks = this.marks;
    const at = mark * 4;
    if (marks[at] === undefined) return;
    this.counted = this.parts.length = marks[at] as number;
    this.depth = marks[at + 1] as number;
    this.ns = marks[at + 2] as number;
    this.bytes = marks[at + 3] as number;
    marks.length = at;
  }

  size(): number {
    for (; this.counted < this.parts.length; this.counted++) this.bytes += utf8Length(this.parts[this.counted] as string);
    return this.bytes;
  }

  result(): string {
    return this.parts.join('');
  }
}

/** Raw elements as compact XML. */
export function rawXml(content: XmlContent): string {
  let out = '';
  for (const node of content) {
    if (typeof node === 'string') out += escapeXmlText(node);
    else out += node.children.length === 0 ? `<${node.name}/>` : `<${node.name}>${rawXml(node.children)}</${node.name}>`;
  }
  return out;
}
