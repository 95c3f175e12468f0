/**
 * SyncML tokenizer, JS engine entry: options, size limit, format detection, then the XML or WBXML
 * pass. The WASM engine (syncml-wasm.ts) takes the same options and gives the same result.
 */
import { EngineError, SyncmlError } from './errors.ts';
import { detectFormat, resolveLimits, TokenOut } from './syncml-out.ts';
import { RECORD_WORDS, type SyncmlTokenizeOptions, type SyncmlTokens } from './syncml-tokens.ts';
import { tokenizeWbxmlJs } from './syncml-wbxml-js.ts';
import { tokenizeXmlJs } from './syncml-xml-js.ts';

export function tokenizeSyncmlJs(bytes: Uint8Array, options: SyncmlTokenizeOptions = {}): SyncmlTokens {
  if (!(bytes instanceof Uint8Array)) throw new EngineError('invalidOptions', 'syncml: input must be a Uint8Array');
  const limits = resolveLimits(options);
  if (bytes.length > limits.maxBytes) throw new SyncmlError('tooLarge', limits.maxBytes);
  const format = detectFormat(bytes, options.format);
  const out = new TokenOut(bytes.length, limits.maxTokens, format);
  const header = format === 'xml' ? tokenizeXmlJs(bytes, limits, out) : tokenizeWbxmlJs(bytes, limits, out);
  return { format, ...header, tokens: out.result(), count: out.w / RECORD_WORDS };
}
