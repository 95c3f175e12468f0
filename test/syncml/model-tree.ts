/**
 * The element tree of a model (xml-tree.ts TreeNode), written through the same walk as the encoders
 * but with no encoder involved, so a decode can be compared with an independent reading of the
 * peer's XML. A binary Data holding a nested WBXML document becomes that document's elements (as
 * libwbxml prints it); other bytes become their UTF-8 text.
 */
import { frameOf, MessageEncoder } from '../../agent/syncml/encoder.ts';
import type { EncoderSink } from '../../agent/syncml/encoder-sink.ts';
import type { DataValue, SyncMLMessage, XmlContent, XmlElement } from '../../agent/syncml/model.ts';
import { decodeNestedData, type Tokenize } from '../../agent/syncml/decode.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { normalizeTree, renderTree, type TreeNode } from './xml-tree.ts';

class TreeSink implements EncoderSink<TreeNode> {
  private readonly root: TreeNode = { name: 'SyncML', text: '', children: [] };
  private readonly stack: TreeNode[] = [this.root];

  constructor(private readonly tokenize: Tokenize) {}

  private add(name: string, text = ''): TreeNode {
    const node: TreeNode = { name, text, children: [] };
    (this.stack[this.stack.length - 1] as TreeNode).children.push(node);
    return node;
  }

  begin(): void {}
  finishRoot(): void {}
  mark(): number {
    return 0;
  }
  reset(): void {}
  size(): number {
    return 0;
  }
  result(): TreeNode {
    return this.root;
  }

  start(_code: number, name: string, hasContent: boolean): void {
    const node = this.add(name);
    if (hasContent) this.stack.push(node);
  }
  end(): void {
    this.stack.pop();
  }
  leaf(_code: number, name: string, text: string): void {
    this.add(name, text);
  }
  flag(_code: number, name: string): void {
    this.add(name);
  }
  data(_code: number, name: string, value: DataValue): void {
    const node = this.add(name);
    if (typeof value === 'string') node.text = value;
    else if (value instanceof Uint8Array) {
      const nested = decodeNestedData(value, { tokenize: this.tokenize });
      if (nested) node.children.push(rawNode(nested));
      else node.text = utf8Decode(value);
    } else {
      this.stack.push(node);
      this.raw(value);
      this.stack.pop();
    }
  }
  raw(content: XmlContent): void {
    const parent = this.stack[this.stack.length - 1] as TreeNode;
    for (const child of content) {
      if (typeof child === 'string') parent.text += child;
      else parent.children.push(rawNode(child));
    }
  }
}

function rawNode(element: XmlElement): TreeNode {
  const node: TreeNode = { name: element.name, text: '', children: [] };
  for (const child of element.children) {
    if (typeof child === 'string') node.text += child;
    else node.children.push(rawNode(child));
  }
  return node;
}

export function modelTree(message: SyncMLMessage, tokenize: Tokenize): TreeNode {
  const encoder = new MessageEncoder(new TreeSink(tokenize), frameOf(message));
  for (const command of message.body.commands) encoder.add(command);
  return encoder.finish(message.body.final === true);
}

export function canonicalModelTree(message: SyncMLMessage, tokenize: Tokenize): string {
  return renderTree(normalizeTree(modelTree(message, tokenize)));
}
