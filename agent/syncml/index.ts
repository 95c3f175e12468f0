/**
 * The SyncML codec (issue 10): bytes ⇄ typed message model, XML and WBXML, whole or under a
 * MaxMsgSize budget. The tokenizer is injected (an engine's `syncmlTokenize`, wasm/index.ts), so the
 * caller chooses WASM or the JS fallback.
 */
export type * from './model.ts';
export { dataText, messageVersion } from './model.ts';
export { decodeMessage, decodeNestedData, type DecodeOptions, type Decoded, type Tokenize, type TokenStream } from './decode.ts';
export type { DecodeMode } from './build.ts';
export {
  createWbxmlEncoder, createXmlEncoder, encodeWbxml, encodeWithinBudget, encodeXml, MessageEncoder,
  type BudgetOptions, type BudgetResult, type MessageFrame, type WbxmlEncodeOptions, type XmlEncodeOptions,
} from './encoder.ts';
export { CONTENT_TYPE_WBXML, CONTENT_TYPE_XML, contentTypeFor, detectEncoding, encodingFromContentType } from './content-type.ts';
export { SyncmlModelError, type SyncmlModelErrorCode } from './errors.ts';
