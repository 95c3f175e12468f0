/**
 * Test helpers for the SyncML tokenizer: readable token lists, and a small element tree built from
 * a token stream (names, decoded text, children) to compare WBXML against its XML decode.
 */
import { RECORD_WORDS, TAG_UNKNOWN, tagName, TEXT_SPACE, TokenKind, type SyncmlTokens } from '../../wasm/index.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { decodeXmlSpan } from '../../agent/syncml/text.ts';

/** Lenient: a bare `&` stays text. */
const decodeText = (bytes: Uint8Array, start: number, end: number) => decodeXmlSpan(bytes, start, end, false);

function nameOf(bytes: Uint8Array, tag: number, start: number, end: number): string {
  if (tag === TAG_UNKNOWN) return `?${utf8Decode(bytes.subarray(start, end))}`;
  return tagName(tag) ?? `#${tag.toString(16)}`;
}

/** One line per token: `<Name`, `>Name`, `"text"` (with flags), `[cdata]`, `{opaque n}`, `&#cp;`. */
export function describe(bytes: Uint8Array, result: SyncmlTokens): string[] {
  const lines: string[] = [];
  const t = result.tokens;
  for (let w = 0; w < result.count * RECORD_WORDS; w += RECORD_WORDS) {
    const [kind, tag, start, end] = [t[w], t[w + 1], t[w + 2], t[w + 3]] as [number, number, number, number];
    if (kind === TokenKind.Open) lines.push(`<${nameOf(bytes, tag, start, end)}`);
    else if (kind === TokenKind.Close) lines.push(tag === TAG_UNKNOWN ? '>?' : `>${nameOf(bytes, tag, 0, 0)}`);
    else if (kind === TokenKind.Text) lines.push(`${tag}${JSON.stringify(decodeText(bytes, start, end))}`);
    else if (kind === TokenKind.Opaque) lines.push(`[${tag}:${utf8Decode(bytes.subarray(start, end))}]`);
    else if (kind === TokenKind.Char) lines.push(`&#${tag};`);
    else lines.push(`?kind ${kind}`);
  }
  return lines;
}

export interface Element {
  name: string;
  /** Text, CDATA/opaque and entity content concatenated; in elements with children, whitespace-only runs (indentation) are dropped. */
  text: string;
  children: Element[];
}

interface Building extends Element {
  parts: { text: string; space: boolean }[];
}

function finish(element: Building): Element {
  const parts = element.children.length > 0 ? element.parts.filter((p) => !p.space) : element.parts;
  return { name: element.name, text: parts.map((p) => p.text).join(''), children: element.children };
}

/**
 * The element tree of a stream. Opaque spans that hold a nested WBXML document are given to
 * `nested` (which returns its root's tree, or undefined) so they compare with the XML libwbxml
 * printed in their place.
 */
export function buildTree(bytes: Uint8Array, result: SyncmlTokens, nested?: (span: Uint8Array) => Element | undefined): Element {
  const root: Building = { name: '#document', text: '', children: [], parts: [] };
  const stack: Building[] = [root];
  const t = result.tokens;
  for (let w = 0; w < result.count * RECORD_WORDS; w += RECORD_WORDS) {
    const [kind, tag, start, end] = [t[w], t[w + 1], t[w + 2], t[w + 3]] as [number, number, number, number];
    const top = stack[stack.length - 1] as Building;
    if (kind === TokenKind.Open) {
      stack.push({ name: nameOf(bytes, tag, start, end), text: '', children: [], parts: [] });
    } else if (kind === TokenKind.Close) {
      const done = stack.pop() as Building;
      (stack[stack.length - 1] as Building).children.push(finish(done));
    } else if (kind === TokenKind.Text) {
      top.parts.push({ text: decodeText(bytes, start, end), space: (tag & TEXT_SPACE) !== 0 });
    } else if (kind === TokenKind.Opaque) {
      const tree = nested?.(bytes.subarray(start, end));
      if (tree) top.children.push(tree);
      else {
        const text = utf8Decode(bytes.subarray(start, end));
        // Whitespace-only OPAQUE (xml2wbxml writes indentation after a nested document that way) is indentation too.
        top.parts.push({ text, space: /^[ \t\r\n]*$/.test(text) });
      }
    } else if (kind === TokenKind.Char) {
      top.parts.push({ text: String.fromCodePoint(tag), space: false });
    }
  }
  return root.children[0] as Element;
}
