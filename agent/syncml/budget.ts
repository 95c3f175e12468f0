/**
 * The message encoder under a `MaxMsgSize` budget, whatever the format: it walks the model (emit.ts)
 * into a sink it is given. The sinks are not imported here, so a DM session can load only the one
 * its encoding needs (./sink-loader.ts); encoder.ts binds both for callers that encode either.
 */
import { FrameCode } from '../../wasm/src/syncml-tokens.ts';
import { element, walkCommand } from './emit.ts';
import type { EncoderSink } from './encoder-sink.ts';
import { SyncmlModelError } from './errors.ts';
import { type Command, messageVersion, type SyncHdr, type SyncMLMessage, type XmlContent } from './model.ts';
import { Model } from './schema.ts';

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
  // Declared and set in the constructor, not class fields: a class with fields gets one more function (their initializer) in a QuickJS heap.
  /** Commands added so far. */
  declare count: number;
  private declare readonly limit: number;
  private declare readonly sink: EncoderSink<R>;
  private declare readonly frame: MessageFrame;

  constructor(sink: EncoderSink<R>, frame: MessageFrame, options: BudgetOptions = {}) {
    this.count = 0;
    this.sink = sink;
    this.frame = frame;
    this.limit = options.maxMsgSize ?? Number.POSITIVE_INFINITY;
    const version = frame.hdr ? (messageVersion({ hdr: frame.hdr, body: { commands: [] } }) ?? frame.version ?? '1.2') : (frame.version ?? '1.2');
    sink.begin(version);
    if (frame.hdr) element(FrameCode.SyncHdr, Model.SyncHdr, frame.hdr as unknown as Record<string, unknown>, sink);
    sink.start(FrameCode.SyncBody, 'SyncBody', true);
    const size = this.limit === Number.POSITIVE_INFINITY ? 0 : this.sizeIfFinished();
    if (size > this.limit) throw new SyncmlModelError('budget', -1, `MaxMsgSize ${this.limit} cannot hold the message frame (${size} bytes without commands)`);
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
    this.count++;
    return true;
  }

  private close(final: boolean): void {
    const sink = this.sink;
    if (final) sink.leaf(FrameCode.Final, 'Final', '');
    if (this.frame.bodyExtra !== undefined && this.frame.bodyExtra.length > 0) sink.raw(this.frame.bodyExtra);
    sink.end(FrameCode.SyncBody, 'SyncBody');
    if (this.frame.extra !== undefined && this.frame.extra.length > 0) sink.raw(this.frame.extra);
    sink.finishRoot();
  }

  /** Closes the message (`final`: write `<Final/>`, the last message of a package) and returns it. */
  finish(final: boolean): R {
    this.close(final);
    return this.sink.result();
  }
}

export function frameOf(message: SyncMLMessage): MessageFrame {
  const frame: MessageFrame = {};
  if (message.hdr) frame.hdr = message.hdr;
  if (message.body.extra) frame.bodyExtra = message.body.extra;
  if (message.extra) frame.extra = message.extra;
  return frame;
}

export interface BudgetResult<R> {
  encoded: R;
  /** How many of the message's commands are in `encoded` (a prefix). */
  included: number;
  /** The commands that did not fit, in order: the next message's. */
  remaining: Command[];
}

/**
 * Encodes the header and as many leading commands as fit `options.maxMsgSize` into `sink`; the rest
 * is returned for the next message. `Final` is written only when every command fit and the message asks for it.
 */
export function fitBudget<R>(message: SyncMLMessage, sink: EncoderSink<R>, options: BudgetOptions): BudgetResult<R> {
  const encoder = new MessageEncoder(sink, frameOf(message), options);
  const commands = message.body.commands;
  let included = 0;
  while (included < commands.length && encoder.add(commands[included] as Command)) included++;
  const remaining = commands.slice(included);
  return { encoded: encoder.finish(message.body.final === true && remaining.length === 0), included, remaining };
}
