/**
 * Sink writing WBXML (version 1.2 header, as libwbxml and the AOSP engine write it): public id
 * 0x1201 for SyncML 1.2 or 0x0FD3 for 1.1 (chosen from VerDTD by the caller), charset UTF-8,
 * code pages 0 (SyncML) and 1 (MetInf) with SWITCH_PAGE, text as STR_I, binary `Data` as OPAQUE,
 * elements outside both code pages as LITERAL tags named in the string table. With `strings`,
 * those texts go to the string table once and are referenced by STR_T.
 */
import { codeForName, TAG_UNKNOWN } from '../../wasm/src/syncml-tokens.ts';
import { ByteWriter } from './byte-writer.ts';
import type { EncoderSink } from './encoder-sink.ts';
import type { DataValue, XmlContent } from './model.ts';
import { utf8Length } from './text.ts';

const SWITCH_PAGE = 0x00;
const END = 0x01;
const STR_I = 0x03;
const LITERAL = 0x04;
const STR_T = 0x83;
const OPAQUE = 0xc3;
const CONTENT = 0x40;
const WBXML_VERSION = 0x02;
const CHARSET_UTF8 = 106;
export const PUBLIC_ID_SYNCML_11 = 0x0fd3;
export const PUBLIC_ID_SYNCML_12 = 0x1201;

function mbLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

interface Mark {
  length: number;
  page: number;
  entries: number;
  tableLength: number;
}

export interface WbxmlSinkOptions {
  /** Texts to write once into the string table and reference with STR_T (e.g. repeated LocURIs). */
  strings?: ReadonlySet<string>;
}

export class WbxmlSink implements EncoderSink<Uint8Array> {
  private readonly body = new ByteWriter(4096);
  private page = 0;
  private publicId = PUBLIC_ID_SYNCML_12;
  /** String table: entries in order, offset by string. */
  private readonly entries: string[] = [];
  private readonly offsets = new Map<string, number>();
  private tableLength = 0;
  private readonly marks: Mark[] = [];
  private readonly strings: ReadonlySet<string> | undefined;

  constructor(options: WbxmlSinkOptions = {}) {
    this.strings = options.strings;
  }

  begin(version: string): void {
    this.publicId = version === '1.1' ? PUBLIC_ID_SYNCML_11 : PUBLIC_ID_SYNCML_12;
    this.tag(codeForName('SyncML'), true);
  }

  finishRoot(): void {
    this.body.byte(END);
  }

  private tag(code: number, content: boolean): void {
    const page = code >> 8;
    if (page !== this.page) {
      this.body.byte(SWITCH_PAGE);
      this.body.byte(page);
      this.page = page;
    }
    this.body.byte((code & 0x3f) | (content ? CONTENT : 0));
  }

  private tableOffset(text: string): number {
    let offset = this.offsets.get(text);
    if (offset === undefined) {
      offset = this.tableLength;
      this.offsets.set(text, offset);
      this.entries.push(text);
      this.tableLength += utf8Length(text) + 1;
    }
    return offset;
  }

  private string(text: string): void {
    if (this.strings !== undefined && this.strings.has(text)) {
      this.body.byte(STR_T);
      this.body.mbUint(this.tableOffset(text));
      return;
    }
    this.body.byte(STR_I);
    this.body.utf8(text);
    this.body.byte(0);
  }

  start(code: number, _name: string, hasContent: boolean): void {
    this.tag(code, hasContent);
  }

  end(): void {
    this.body.byte(END);
  }

  leaf(code: number, _name: string, text: string): void {
    if (text === '') {
      this.tag(code, false);
      return;
    }
    this.tag(code, true);
    this.string(text);
    this.body.byte(END);
  }

  data(code: number, name: string, value: DataValue): void {
    if (typeof value === 'string') {
      this.leaf(code, name, value);
      return;
    }
    if (value instanceof Uint8Array) {
      this.tag(code, true);
      this.body.byte(OPAQUE);
      this.body.mbUint(value.length);
      this.body.bytes(value);
      this.body.byte(END);
      return;
    }
    this.tag(code, value.length > 0);
    if (value.length > 0) {
      this.raw(value);
      this.body.byte(END);
    }
  }

  raw(content: XmlContent): void {
    for (const node of content) {
      if (typeof node === 'string') {
        if (node !== '') this.string(node);
        continue;
      }
      const hasChildren = node.children.length > 0;
      const code = codeForName(node.name);
      if (code === TAG_UNKNOWN) {
        this.body.byte(LITERAL | (hasChildren ? CONTENT : 0));
        this.body.mbUint(this.tableOffset(node.name));
      } else this.tag(code, hasChildren);
      if (hasChildren) {
        this.raw(node.children);
        this.body.byte(END);
      }
    }
  }

  mark(): number {
    this.marks.push({ length: this.body.length, page: this.page, entries: this.entries.length, tableLength: this.tableLength });
    return this.marks.length - 1;
  }

  reset(mark: number): void {
    const state = this.marks[mark];
    if (state === undefined) return;
    this.body.length = state.length;
    this.page = state.page;
    for (const text of this.entries.splice(state.entries)) this.offsets.delete(text);
    this.tableLength = state.tableLength;
    this.marks.length = mark;
  }

  private headerLength(): number {
    return 1 + mbLength(this.publicId) + mbLength(CHARSET_UTF8) + mbLength(this.tableLength) + this.tableLength;
  }

  size(): number {
    return this.headerLength() + this.body.length;
  }

  result(): Uint8Array {
    const out = new ByteWriter(this.size());
    out.byte(WBXML_VERSION);
    out.mbUint(this.publicId);
    out.mbUint(CHARSET_UTF8);
    out.mbUint(this.tableLength);
    for (const text of this.entries) {
      out.utf8(text);
      out.byte(0);
    }
    out.bytes(this.body.buffer.subarray(0, this.body.length));
    return out.result();
  }
}
