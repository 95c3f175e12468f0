/**
 * The one walk of a model in canonical (schema) order that both encoders share: it turns the model
 * into element events for a Sink (XML text or WBXML bytes). Commands are walked one at a time by
 * the incremental encoder, so a message can be cut between commands.
 */
import { SyncmlModelError } from './errors.ts';
import type { Command, DataValue, XmlContent } from './model.ts';
import { codeForName, tagName } from '../../wasm/src/syncml-tokens.ts';
import { commandSchema, FIELDS, FieldKind, OFFSETS, PROPS, type Schema } from './schema.ts';

export interface Sink {
  /** An element with children follows (`hasContent`), or an empty one (`<Item/>`). */
  start(code: number, name: string, hasContent: boolean): void;
  end(code: number, name: string): void;
  /** A text leaf (`<LocURI>x</LocURI>`); '' is an empty element (a flag such as `<Final/>`). */
  leaf(code: number, name: string, text: string): void;
  /** A `Data` element with its value. */
  data(code: number, name: string, value: DataValue): void;
  /** Raw content kept by a lenient decode (elements outside the model, stray text). */
  raw(content: XmlContent): void;
}

type Bag = Record<string, unknown>;

/** Element `code` holding `bag` (of model `schema`): its children in canonical order, or empty. */
export function element(code: number, schema: Schema, bag: Bag, sink: Sink): void {
  const name = tagName(code) as string;
  // Written empty when it holds nothing (a command's `cmd` is not content).
  let content = false;
  for (const key in bag) if (key !== 'cmd' && bag[key] !== undefined) content = true;
  sink.start(code, name, content);
  if (!content) return;
  let commands = false;
  for (let f = OFFSETS.charCodeAt(schema), end = OFFSETS.charCodeAt(schema + 1); f < end; f++) {
    const value = bag[PROPS[FIELDS.charCodeAt(f * 3 + 2)] as string];
    if (value === undefined) continue;
    const code = FIELDS.charCodeAt(f * 3);
    const word = FIELDS.charCodeAt(f * 3 + 1);
    const child = word >> 3;
    switch (word & 7) {
      case FieldKind.Text:
        sink.leaf(code, tagName(code) as string, value as string);
        break;
      case FieldKind.TextList:
        for (const text of value as string[]) sink.leaf(code, tagName(code) as string, text);
        break;
      case FieldKind.Flag:
        if (value) sink.leaf(code, tagName(code) as string, '');
        break;
      case FieldKind.Child:
        element(code, child, value as Bag, sink);
        break;
      case FieldKind.ChildList:
        for (const item of value as Bag[]) element(code, child, item, sink);
        break;
      case FieldKind.Data:
        sink.data(code, tagName(code) as string, value as DataValue);
        break;
      case FieldKind.Command:
        // Every command is written where the first command field stands, in the model's order.
        if (!commands) for (const command of value as Command[]) walkCommand(command, sink);
        commands = true;
        break;
    }
  }
  const extra = bag['extra'] as XmlContent | undefined;
  if (extra !== undefined && extra.length > 0) sink.raw(extra);
  sink.end(code, name);
}

export function walkCommand(command: Command, sink: Sink): void {
  const schema = commandSchema(command.cmd);
  if (schema < 0) throw new SyncmlModelError('badInput', -1, `unknown command ${JSON.stringify((command as { cmd?: unknown }).cmd)}`);
  element(codeForName(command.cmd), schema, command as unknown as Bag, sink);
}
