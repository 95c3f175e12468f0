/**
 * Model → XML / WBXML, whole or command by command under a `MaxMsgSize` budget (the DM client
 * splits a response over several messages: it adds commands until one does not fit, sends, and
 * carries the rest over). Both formats share the walk (emit.ts) and differ only in their sink.
 */
import { codeForName } from '../../wasm/src/syncml-tokens.ts';
import { element, walkCommand } from './emit.ts';
import type { EncoderSink } from './encoder-sink.ts';
import { SyncmlModelError } from './errors.ts';
import { type Command, messageVersion, type SyncHdr, type SyncMLMessage, type XmlContent } from './model.ts';
import { SYNC_HDR } from './schema.ts';
import { collectRepeatedStrings } from './string-table.ts';
import { WbxmlSink } from './wbxml-sink.ts';
import { XmlSink, type XmlSinkOptions } from './xml-sink.ts';

const SYNC_BODY_CODE = codeForName('SyncBody');
const FINAL_CODE = codeForName('Final');

/** What surrounds the commands: the header, and raw content a lenient decode kept. */
export interface MessageFrame {
  hdr?: SyncHdr;
  /** SyncBody-level raw content (written after Final). */
  bodyExtra?: XmlContent;
  /** SyncML-level raw content (written after SyncBody). */
  extra?: XmlContent;
  /** The SyncML version when there is no header to say it (default 1.2). */
  version?: string;
}

export interface BudgetOptions {
  /** Largest encoded message in bytes (the peer's MaxMsgSize); unlimited when absent. */
  maxMsgSize?: number;
}

export class MessageEncoder<R> {
  private commands = 0;
  private readonly limit: number;

  constructor(private readonly sink: EncoderSink<R>, private readonly frame: MessageFrame, options: BudgetOptions = {}) {
    this.limit = options.maxMsgSize ?? Number.POSITIVE_INFINITY;
    const version = frame.hdr ? (messageVersion({ hdr: frame.hdr, body: { commands: [] } }) ?? frame.version ?? '1.2') : (frame.version ?? '1.2');
    sink.begin(version);
    if (frame.hdr) element(SYNC_HDR, frame.hdr as unknown as Record<string, unknown>, sink);
    sink.start(SYNC_BODY_CODE, 'SyncBody', true);
    const size = this.limit === Number.POSITIVE_INFINITY ? 0 : this.sizeIfFinished();
    if (size > this.limit) throw new SyncmlModelError('budget', -1, `MaxMsgSize ${this.limit} cannot hold the message frame (${size} bytes without commands)`);
  }

  /** Commands added so far. */
  get count(): number {
    return this.commands;
  }

  /** Size in bytes of the message if it were finished now (with Final). */
  sizeIfFinished(): number {
    const mark = this.sink.mark();
    this.close(true);
    const size = this.sink.size();
    this.sink.reset(mark);
    return size;
  }

  /** Adds a command when the message still fits the budget with it; returns false (and writes nothing) when not. */
  add(command: Command): boolean {
    const mark = this.sink.mark();
    walkCommand(command, this.sink);
    if (this.limit !== Number.POSITIVE_INFINITY && this.sizeIfFinished() > this.limit) {
      this.sink.reset(mark);
      return false;
    }
    this.commands++;
    return true;
  }

  private close(final: boolean): void {
    const sink = this.sink;
    if (final) sink.flag(FINAL_CODE, 'Final');
    if (this.frame.bodyExtra !== undefined && this.frame.bodyExtra.length > 0) sink.raw(this.frame.bodyExtra);
    sink.end(SYNC_BODY_CODE, 'SyncBody');
    if (this.frame.extra !== undefined && this.frame.extra.length > 0) sink.raw(this.frame.extra);
    sink.finishRoot();
  }

  /** Closes the message (`final`: write `<Final/>`, the last message of a package) and returns it. */
  finish(final: boolean): R {
    this.close(final);
    return this.sink.result();
  }
}

export interface XmlEncodeOptions extends XmlSinkOptions, BudgetOptions {}
export interface WbxmlEncodeOptions extends BudgetOptions {
  /** Put texts that occur more than once in the string table (smaller messages, libwbxml's default). */
  stringTable?: boolean;
}

export function frameOf(message: SyncMLMessage): MessageFrame {
  const frame: MessageFrame = {};
  if (message.hdr) frame.hdr = message.hdr;
  if (message.body.extra) frame.bodyExtra = message.body.extra;
  if (message.extra) frame.extra = message.extra;
  return frame;
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

export interface BudgetResult<R> {
  encoded: R;
  /** How many of the message's commands are in `encoded` (a prefix). */
  included: number;
  /** The commands that did not fit, in order: the next message's. */
  remaining: Command[];
}

/**
 * Encodes the header and as many leading commands as fit `maxMsgSize`; the rest is returned for the
 * next message. `Final` is written only when every command fit and the message asks for it.
 */
export function encodeWithinBudget(message: SyncMLMessage, encoding: 'xml', options: XmlEncodeOptions & { maxMsgSize: number }): BudgetResult<string>;
export function encodeWithinBudget(message: SyncMLMessage, encoding: 'wbxml', options: WbxmlEncodeOptions & { maxMsgSize: number }): BudgetResult<Uint8Array>;
export function encodeWithinBudget(message: SyncMLMessage, encoding: 'xml' | 'wbxml', options: (XmlEncodeOptions | WbxmlEncodeOptions) & { maxMsgSize: number }): BudgetResult<string | Uint8Array> {
  const encoder: MessageEncoder<string | Uint8Array> = encoding === 'xml' ? createXmlEncoder(frameOf(message), options) : createWbxmlEncoder(frameOf(message), options);
  const commands = message.body.commands;
  let included = 0;
  while (included < commands.length && encoder.add(commands[included] as Command)) included++;
  const remaining = commands.slice(included);
  return { encoded: encoder.finish(message.body.final === true && remaining.length === 0), included, remaining };
}
