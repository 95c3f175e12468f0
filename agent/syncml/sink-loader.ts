/**
 * The encoder sinks as lazy chunks: a DM session speaks one encoding (XML or WBXML, the server's),
 * so it loads that sink before it encodes and the other never enters the QuickJS heap (each is
 * ~8 KB of heap with its helpers). `loadSink` once per encoding, then `newSink` is synchronous.
 */
import { loadOnce } from '../util/load-once.ts';
import type { EncoderSink } from './encoder-sink.ts';
import { SyncmlModelError } from './errors.ts';
import type { SyncmlEncoding } from './model.ts';

export type NewSink = () => EncoderSink<string | Uint8Array>;

const loaded: Partial<Record<SyncmlEncoding, NewSink>> = {};
const loaders: Record<SyncmlEncoding, () => Promise<NewSink>> = {
  xml: loadOnce(async () => {
    const { XmlSink } = await import('./xml-sink.ts');
    return (loaded.xml = () => new XmlSink());
  }),
  wbxml: loadOnce(async () => {
    const { WbxmlSink } = await import('./wbxml-sink.ts');
    return (loaded.wbxml = () => new WbxmlSink());
  }),
};

/** Loads the sink of `encoding` (once). */
export function loadSink(encoding: SyncmlEncoding): Promise<NewSink> {
  return loaders[encoding]();
}

/** A fresh sink of `encoding`; its module must have been loaded (`loadSink`). */
export function newSink(encoding: SyncmlEncoding): EncoderSink<string | Uint8Array> {
  const create = loaded[encoding];
  if (create === undefined) throw new SyncmlModelError('badInput', -1, `the ${encoding} encoder is not loaded (loadSink first)`);
  return create();
}

/** Whether the sink of `encoding` is loaded (tests: a session loads only the one it speaks). */
export function sinkLoaded(encoding: SyncmlEncoding): boolean {
  return loaded[encoding] !== undefined;
}
