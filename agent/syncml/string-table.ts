/**
 * Which texts of a message are worth a WBXML string table entry: those written more than once and
 * long enough that a STR_T reference (1 byte + offset) is shorter than repeating them inline.
 */
import { codeForName } from '../../wasm/src/syncml-tokens.ts';
import { element, type Sink, walkCommand } from './emit.ts';
import type { DataValue, SyncMLMessage } from './model.ts';
import { Model } from './schema.ts';

const MIN_LENGTH = 4;

class CountingSink implements Sink {
  readonly counts = new Map<string, number>();
  start(): void {}
  end(): void {}
  raw(): void {}
  leaf(_code: number, _name: string, text: string): void {
    if (text.length >= MIN_LENGTH) this.counts.set(text, (this.counts.get(text) ?? 0) + 1);
  }
  data(code: number, name: string, value: DataValue): void {
    if (typeof value === 'string') this.leaf(code, name, value);
  }
}

export function collectRepeatedStrings(message: SyncMLMessage): Set<string> {
  const sink = new CountingSink();
  if (message.hdr) element(codeForName('SyncHdr'), Model.SyncHdr, message.hdr as unknown as Record<string, unknown>, sink);
  for (const command of message.body.commands) walkCommand(command, sink);
  const repeated = new Set<string>();
  for (const [text, count] of sink.counts) if (count > 1) repeated.add(text);
  return repeated;
}
