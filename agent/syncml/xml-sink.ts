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
  private parts: string[] = [];
  private depth = 0;
  /** Per open element: whether it is on the MetInf page (children inherit its namespace). */
  private metinf: boolean[] = [false];
  private readonly pretty: boolean;
  private readonly declaration: boolean;
  private bytes = 0;
  private readonly marks: Array<{ parts: number; depth: number; metinf: boolean[]; bytes: number }> = [];
  /** parts.length up to which `bytes` is counted. */
  private counted = 0;

  constructor(options: XmlSinkOptions = {}) {
    this.pretty = options.pretty === true;
    this.declaration = options.declaration !== false;
  }

  begin(version: string): void {
    if (this.declaration) this.parts.push(this.pretty ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '<?xml version="1.0" encoding="UTF-8"?>');
    this.parts.push(`<SyncML xmlns="SYNCML:SYNCML${escapeXmlText(version)}">${this.pretty ? '\n' : ''}`);
    this.depth = 1;
  }

  finishRoot(): void {
    this.parts.push(this.pretty ? '</SyncML>\n' : '</SyncML>');
    this.depth = 0;
  }

  private indent(): string {
    return this.pretty ? '  '.repeat(this.depth) : '';
  }

  private open(code: number, name: string): string {
    const metinf = code >> 8 === PAGE_METINF;
    const parentMetinf = this.metinf[this.metinf.length - 1] as boolean;
    return metinf && !parentMetinf ? `<${name} xmlns="syncml:metinf"` : `<${name}`;
  }

  start(code: number, name: string, hasContent: boolean): void {
    const nl = this.pretty ? '\n' : '';
    if (!hasContent) {
      this.parts.push(`${this.indent()}${this.open(code, name)}/>${nl}`);
      return;
    }
    this.parts.push(`${this.indent()}${this.open(code, name)}>${nl}`);
    this.metinf.push(code >> 8 === PAGE_METINF || (this.metinf[this.metinf.length - 1] as boolean));
    this.depth++;
  }

  end(_code: number, name: string): void {
    this.depth--;
    this.metinf.pop();
    this.parts.push(`${this.indent()}</${name}>${this.pretty ? '\n' : ''}`);
  }

  /** One element on one line, `body` already escaped; '' writes it empty. */
  private line(code: number, name: string, body: string): void {
    const open = this.open(code, name);
    const nl = this.pretty ? '\n' : '';
    this.parts.push(body === '' ? `${this.indent()}${open}/>${nl}` : `${this.indent()}${open}>${body}</${name}>${nl}`);
  }

  leaf(code: number, name: string, text: string): void {
    this.line(code, name, escapeXmlText(text));
  }

  flag(code: number, name: string): void {
    this.line(code, name, '');
  }

  data(code: number, name: string, value: DataValue): void {
    let body: string;
    if (typeof value === 'string') body = escapeXmlText(value);
    else if (value instanceof Uint8Array) body = isXmlText(value) ? escapeXmlText(decodeUtf8Span(value, 0, value.length)) : toBase64(value);
    else body = rawXml(value);
    this.line(code, name, body);
  }

  raw(content: XmlContent): void {
    for (const node of content) {
      if (typeof node === 'string') {
        if (node.trim() !== '') this.parts.push(escapeXmlText(node));
      } else this.parts.push(`${this.indent()}${rawXml([node])}${this.pretty ? '\n' : ''}`);
    }
  }

  mark(): number {
    this.marks.push({ parts: this.parts.length, depth: this.depth, metinf: this.metinf.slice(), bytes: this.size() });
    return this.marks.length - 1;
  }

  reset(mark: number): void {
    const state = this.marks[mark];
    if (state === undefined) return;
    this.marks.length = mark;
    this.parts.length = state.parts;
    this.depth = state.depth;
    this.metinf = state.metinf;
    this.counted = state.parts;
    this.bytes = state.bytes;
  }

  size(): number {
    for (; this.counted < this.parts.length; this.counted++) this.bytes += utf8Length(this.parts[this.counted] as string);
    return this.bytes;
  }

  result(): string {
    return this.parts.join('');
  }
}

/** Whether bytes are UTF-8 text that XML can carry (no control characters but tab, LF, CR). */
function isXmlText(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return isUtf8(bytes);
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
