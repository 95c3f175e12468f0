/**
 * What the message encoder (encoder.ts) needs from a format's sink beyond the element events:
 * the root frame, its size in bytes so far, and a mark/reset pair to take back a command that did
 * not fit the budget.
 */
import type { Sink } from './emit.ts';

export interface EncoderSink<R> extends Sink {
  /** Writes what precedes the root's children (XML declaration, WBXML header state, `<SyncML>`). */
  begin(version: string): void;
  /** Closes the root. */
  finishRoot(): void;
  /** A point to come back to with `reset`. */
  mark(): number;
  reset(mark: number): void;
  /** Bytes of the encoded message as it stands (header included). */
  size(): number;
  result(): R;
}
