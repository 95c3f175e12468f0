/**
 * The encoder sinks as lazy chunks: a DM session speaks one encoding (XML or WBXML, the server's),
 * so it loads that sink before it encodes and the other never enters the QuickJS heap (each is
 * ~8 KB of heap with its helpers). `loadSink` once per encoding, then `newSink` is synchronous.
 */
import type { EncoderSink } from './encoder-sink.ts';
import { SyncmlModelError } from './errors.ts';
import type { SyncmlEncoding } from './model.ts';

export type NewSink = () => EncoderSink<string | Uint8Array>;

// The sink classes once imported: later calls make no trip through the module loader (a fleet
// simulation runs thousands of agents in one process). A failed import stores nothing, so the
// next call tries again; two concurrent first calls both import the one module, which is harmless.
const loaded: Partial<Record<SyncmlEncoding, new () => EncoderSink<string | Uint8Array>>> = {};

/** Loads the sink of `encoding` (once). */
export async function loadSink(encoding: SyncmlEncoding): Promise<NewSink> {
  loaded[encoding] ??= encoding === 'xml' ? (await import('./xml-sink.ts')).XmlSink : (await import('./wbxml-sink.ts')).WbxmlSink;
  return newSink.bind(undefined, encoding);
}

/** A fresh sink of `encoding`; its module must have been loaded (`loadSink`). */
export function newSink(encoding: SyncmlEncoding): EncoderSink<string | Uint8Array> {
  const create = loaded[encoding];
  if (create === undefined) throw new SyncmlModelError('badInput', -1, `the ${encoding} encoder is not loaded (loadSink first)`);
  return new create();
}

/** Whether the sink of `encoding` is loaded (tests: a session loads only the one it speaks). */
export function sinkLoaded(encoding: SyncmlEncoding): boolean {
  return loaded[encoding] !== undefined;
}
