/**
 * An element tree for comparing SyncML documents, read by a small XML parser that shares nothing
 * with the codec under test (so a libwbxml decode is judged by an independent reading), and the
 * normal form both sides are compared in:
 * - names are local (prefix dropped), attributes ignored (libwbxml adds or drops xmlns);
 * - text is the element's own character data (CDATA included, references resolved), trimmed —
 *   libwbxml trims text and drops white space between elements;
 * - children of one element are sorted by name (stable) except in command containers (SyncBody,
 *   Atomic, Sequence, Sync) and inside Data: the model writes fields in DTD order, while real
 *   messages put e.g. MsgRef before CmdID; commands and raw content keep their order.
 */

export interface TreeNode {
  name: string;
  text: string;
  children: TreeNode[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeReferences(text: string): string {
  // Lenient like the corpus needs: an `&` that starts no reference stays as written.
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] as string;
  });
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon >= 0 ? qualified.slice(colon + 1) : qualified;
}

export function parseXmlTree(xml: string): TreeNode {
  const root: TreeNode = { name: '#document', text: '', children: [] };
  const stack: TreeNode[] = [root];
  let i = 0;
  const top = () => stack[stack.length - 1] as TreeNode;
  const fail = (what: string) => new Error(`xml-tree: ${what} at ${i}`);
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0 || lt > i) {
      const end = lt < 0 ? xml.length : lt;
      top().text += decodeReferences(xml.slice(i, end));
      i = end;
      continue;
    }
    if (xml.startsWith('<!--', i)) {
      const a = xml.indexOf('-->', i + 4);
      const b = xml.indexOf('--!>', i + 4);
      const end = a < 0 ? b : b < 0 ? a : Math.min(a, b);
      if (end < 0) throw fail('unterminated comment');
      i = end + (end === b ? 4 : 3);
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end < 0) throw fail('unterminated CDATA');
      top().text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end < 0) throw fail('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!', i)) {
      // DOCTYPE, possibly with an internal subset in [...].
      let depth = 0;
      let j = i + 2;
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth === 0) break;
      }
      i = j + 1;
    } else if (xml.startsWith('</', i)) {
      const end = xml.indexOf('>', i);
      const name = localName(xml.slice(i + 2, end).trim());
      const open = stack.pop();
      if (!open || open.name !== name) throw fail(`</${name}> closes <${open?.name}>`);
      i = end + 1;
    } else {
      let j = i + 1;
      let quote = '';
      for (; j < xml.length; j++) {
        const c = xml[j] as string;
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (j >= xml.length) throw fail('unterminated tag');
      const selfClosing = xml[j - 1] === '/';
      const inner = xml.slice(i + 1, selfClosing ? j - 1 : j);
      const name = localName((inner.match(/^[^\s/>]+/) as RegExpMatchArray)[0]);
      const node: TreeNode = { name, text: '', children: [] };
      top().children.push(node);
      if (!selfClosing) stack.push(node);
      i = j + 1;
    }
  }
  if (stack.length !== 1) throw fail(`unclosed <${top().name}>`);
  const [document] = root.children;
  if (!document) throw fail('no root element');
  return document;
}

const ORDERED = new Set(['SyncBody', 'Atomic', 'Sequence', 'Sync']);

/** The normal form described above. */
export function normalizeTree(node: TreeNode, insideData = false): TreeNode {
  const data = insideData || node.name === 'Data';
  const children = node.children.map((child) => normalizeTree(child, data));
  if (!data && !ORDERED.has(node.name)) children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { name: node.name, text: node.text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''), children };
}

/** One line per element (indented), so a mismatch shows as a readable diff. */
export function renderTree(node: TreeNode, depth = 0): string {
  const line = `${'  '.repeat(depth)}${node.name}${node.text ? ` ${JSON.stringify(node.text)}` : ''}\n`;
  return line + node.children.map((child) => renderTree(child, depth + 1)).join('');
}

export function canonicalTree(xml: string): string {
  return renderTree(normalizeTree(parseXmlTree(xml)));
}
