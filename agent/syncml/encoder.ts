/**
 * Model → XML / WBXML, whole or command by command under a `MaxMsgSize` budget (the DM client
 * splits a response over several messages: it adds commands until one does not fit, sends, and
 * carries the rest over). Both formats share the walk (emit.ts) and differ only in their sink.
 */
import { type BudgetOptions, type BudgetResult, fitBudget, frameOf, type MessageFrame, MessageEncoder } from './budget.ts';
import type { SyncMLMessage } from './model.ts';
import { collectRepeatedStrings } from './string-table.ts';
import { WbxmlSink } from './wbxml-sink.ts';
import { XmlSink, type XmlSinkOptions } from './xml-sink.ts';

export { type BudgetOptions, type BudgetResult, frameOf, type MessageFrame, MessageEncoder };

export interface XmlEncodeOptions extends XmlSinkOptions, BudgetOptions {}
export interface WbxmlEncodeOptions extends BudgetOptions {
  /** Put texts that occur more than once in the string table (smaller messages, libwbxml's default). */
  stringTable?: boolean;
}

export function createXmlEncoder(frame: MessageFrame, options: XmlEncodeOptions = {}): MessageEncoder<string> {
  return new MessageEncoder(new XmlSink(options), frame, options);
}

export function createWbxmlEncoder(frame: MessageFrame, options: WbxmlEncodeOptions = {}, strings?: ReadonlySet<string>): MessageEncoder<Uint8Array> {
  return new MessageEncoder(new WbxmlSink(strings ? { strings } : {}), frame, options);
}

function encodeAll<R>(encoder: MessageEncoder<R>, message: SyncMLMessage): R {
  for (const command of message.body.commands) encoder.add(command);
  return encoder.finish(message.body.final === true);
}

/** The whole message as XML (canonical; `pretty` for people). */
export function encodeXml(message: SyncMLMessage, options: XmlSinkOptions = {}): string {
  return encodeAll(createXmlEncoder(frameOf(message), options), message);
}

/** The whole message as WBXML. */
export function encodeWbxml(message: SyncMLMessage, options: Omit<WbxmlEncodeOptions, 'maxMsgSize'> = {}): Uint8Array {
  const strings = options.stringTable ? collectRepeatedStrings(message) : undefined;
  return encodeAll(createWbxmlEncoder(frameOf(message), {}, strings), message);
}

/**
 * Encodes the header and as many leading commands as fit `maxMsgSize`; the rest is returned for the
 * next message. `Final` is written only when every command fit and the message asks for it.
 */
export function encodeWithinBudget(message: SyncMLMessage, encoding: 'xml', options: XmlEncodeOptions & { maxMsgSize: number }): BudgetResult<string>;
export function encodeWithinBudget(message: SyncMLMessage, encoding: 'wbxml', options: WbxmlEncodeOptions & { maxMsgSize: number }): BudgetResult<Uint8Array>;
export function encodeWithinBudget(message: SyncMLMessage, encoding: 'xml' | 'wbxml', options: (XmlEncodeOptions | WbxmlEncodeOptions) & { maxMsgSize: number }): BudgetResult<string | Uint8Array> {
  return encoding === 'xml' ? fitBudget(message, new XmlSink(options as XmlEncodeOptions), options) : fitBudget(message, new WbxmlSink({}), options);
}
