/**
 * Bytes → model for a DM session: the tokenizer, then the builder (./build.ts), whose rarely needed
 * part (./build-rare.ts: mixed content, elements outside the model, error offsets) is a lazy chunk
 * here, loaded by the first message that needs it (it is then built again, with it). The
 * messages of a FUMO cycle never need it, so a session keeps it out of the QuickJS heap. Same
 * model and errors as ./decode.ts `decodeMessage`, which always has the rare part.
 */
import { decodeWith, NEEDS_RARE, type RareBuilder } from './build.ts';
import type { DecodeOptions, Decoded } from './decode.ts';

/** The rare part once loaded: later messages build with it at once. */
let loaded: RareBuilder | undefined;

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
