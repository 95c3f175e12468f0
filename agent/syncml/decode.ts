/**
 * Bytes → model: the tokenizer (an engine's `syncmlTokenize`: WASM or its JS fallback, injected so
 * the agent picks the engine) then the builder. The SyncML version is the message's VerDTD /
 * VerProto (model.messageVersion), never the WBXML public id.
 */
import { type DecodeMode, decodeWith } from './build.ts';
import { buildDocument, RARE } from './build-rare.ts';
import type { DataValue, SyncmlEncoding, SyncMLMessage, XmlElement } from './model.ts';

/** The part of the tokenizer result the builder reads (wasm/src/syncml-tokens.ts SyncmlTokens). */
export interface TokenStream {
  format: SyncmlEncoding;
  tokens: Int32Array;
  count: number;
  /** WBXML public id: numeric, or 0 and the span of its literal in the input. */
  publicId: number;
  publicIdStart: number;
  publicIdEnd: number;
}

export type Tokenize = (bytes: Uint8Array, options: { strict?: boolean; format?: SyncmlEncoding | 'auto' }) => TokenStream;

export interface DecodeOptions {
  tokenize: Tokenize;
  /** strict (default): defects and elements outside the model are errors with a byte offset. */
  mode?: DecodeMode;
  /** Force a format instead of detecting it from the first byte. */
  format?: SyncmlEncoding;
}

export interface Decoded {
  message: SyncMLMessage;
  /** The encoding the message came in (answer in the same one). */
  encoding: SyncmlEncoding;
}

/** Bytes → model, with every part of the builder (a DM session loads its rare part lazily: ./lazy-decode.ts). */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions): Decoded {
  return decodeWith(bytes, options, RARE);
}

/**
 * A WBXML document nested inside a binary `Data` (OPAQUE), e.g. a DM-DDF tree, as raw elements.
 * Undefined when `data` is not bytes that start like WBXML.
 */
export function decodeNestedData(data: DataValue | undefined, options: Pick<DecodeOptions, 'tokenize'>): XmlElement | undefined {
  if (!(data instanceof Uint8Array) || data.length < 4 || data[0] === undefined || data[0] < 1 || data[0] > 3) return undefined;
  const stream = options.tokenize(data, { strict: false, format: 'wbxml' });
  return buildDocument(data, stream.tokens, stream.count, { id: stream.publicId, start: stream.publicIdStart, end: stream.publicIdEnd });
}
