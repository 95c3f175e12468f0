/**
 * The one walk of a model in canonical (schema) order that both encoders share: it turns the model
 * into element events for a Sink (XML text or WBXML bytes). Commands are walked one at a time by
 * the incremental encoder, so a message can be cut between commands.
 */
import { SyncmlModelError } from './errors.ts';
import type { Command, DataValue, XmlContent } from './model.ts';
import { COMMAND_BY_NAME, FieldKind, type Schema } from './schema.ts';

export interface Sink {
  /** An element with children follows (`hasContent`), or an empty one (`<Item/>`). */
  start(code: number, name: string, hasContent: boolean): void;
  end(code: number, name: string): void;
  /** A text leaf (`<LocURI>x</LocURI>`); '' is an empty element. */
  leaf(code: number, name: string, text: string): void;
  /** An empty flag element (`<Final/>`). */
  flag(code: number, name: string): void;
  /** A `Data` element with its value. */
  data(code: number, name: string, value: DataValue): void;
  /** Raw content kept by a lenient decode (elements outside the model, stray text). */
  raw(content: XmlContent): void;
}

type Bag = Record<string, unknown>;

/** Whether an object has anything to write (an element without it is written empty). */
export function hasContent(bag: Bag): boolean {
  for (const key in bag) if (key !== 'cmd' && bag[key] !== undefined) return true;
  return false;
}

/** Writes the children of `bag` (an element of `schema`) in canonical order. */
export function walk(schema: Schema, bag: Bag, sink: Sink): void {
  for (const field of schema.fields) {
    const value = bag[field.prop];
    if (value === undefined) continue;
    switch (field.kind) {
      case FieldKind.Text:
        sink.leaf(field.code, field.name, value as string);
        break;
      case FieldKind.TextList:
        for (const text of value as string[]) sink.leaf(field.code, field.name, text);
        break;
      case FieldKind.Flag:
        if (value) sink.flag(field.code, field.name);
        break;
      case FieldKind.Child:
        element(field.schema as Schema, value as Bag, sink);
        break;
      case FieldKind.ChildList:
        for (const child of value as Bag[]) element(field.schema as Schema, child, sink);
        break;
      case FieldKind.Data:
        sink.data(field.code, field.name, value as DataValue);
        break;
      case FieldKind.Command:
        for (const command of value as Command[]) walkCommand(command, sink);
        break;
    }
  }
  const extra = bag['extra'] as XmlContent | undefined;
  if (extra !== undefined && extra.length > 0) sink.raw(extra);
}

export function element(schema: Schema, bag: Bag, sink: Sink): void {
  const content = hasContent(bag);
  sink.start(schema.code, schema.name, content);
  if (content) {
    walk(schema, bag, sink);
    sink.end(schema.code, schema.name);
  }
}

export function walkCommand(command: Command, sink: Sink): void {
  const schema = COMMAND_BY_NAME.get(command.cmd);
  if (schema === undefined) throw new SyncmlModelError('badInput', -1, `unknown command ${JSON.stringify((command as { cmd?: unknown }).cmd)}`);
  element(schema, command as unknown as Bag, sink);
}
