/**
 * Bytes → model for a DM session: the tokenizer, then the builder (./build.ts), whose rarely needed
 * part (./build-rare.ts: mixed content, elements outside the model, error offsets) is a lazy chunk
 * here, loaded by the first message that needs it (it is then built again, with it). The
 * messages of a FUMO cycle never need it, so a session keeps it out of the QuickJS heap. Same
 * model and errors as ./decode.ts `decodeMessage`, which always has the rare part.
 */
import { buildMessage, NEEDS_RARE, type RareBuilder } from './build.ts';
import type { DecodeOptions, Decoded } from './decode.ts';

/** The rare part once loaded: later messages build with it at once. */
let loaded: RareBuilder | undefined;

/** Tokenizes and builds with `rare` (or throws NEEDS_RARE when the message needs it and it is missing). */
export function decodeWith(bytes: Uint8Array, options: DecodeOptions, rare: RareBuilder | undefined): Decoded {
  const mode = options.mode ?? 'strict';
  const stream = options.tokenize(bytes, { strict: mode === 'strict', format: options.format ?? 'auto' });
  return { message: buildMessage(bytes, stream.tokens, stream.count, { mode, wholeText: stream.format === 'xml', ...(rare ? { rare } : {}) }), encoding: stream.format };
}

/** `decodeMessage` (./decode.ts), loading the builder's rare part only for a message that needs it. */
export async function decodeMessageLazily(bytes: Uint8Array, options: DecodeOptions): Promise<Decoded> {
  try {
    return decodeWith(bytes, options, loaded);
  } catch (error) {
    if (error !== NEEDS_RARE) throw error;
  }
  loaded = (await import('./build-rare.ts')).RARE;
  return decodeWith(bytes, options, loaded);
}
