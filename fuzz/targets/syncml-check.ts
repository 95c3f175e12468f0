/**
 * The oracle of the SyncML fuzz targets and property tests: both engines, lenient and strict, must
 * give the same records and header, or the same SyncmlError (code and offset); a success must be
 * a well-nested stream with spans inside the input. Anything else throws a plain Error (a finding).
 * Exports no `target`: fuzz discovery skips it.
 */
import { loadEngines, SyncmlError, RECORD_WORDS, TokenKind, type Engines, type SyncmlTokenizeOptions, type SyncmlTokens } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import type { FuzzTarget } from '../types.ts';

type Outcome = { tokens: SyncmlTokens } | { error: SyncmlError };

function outcome(engines: Engines, input: Uint8Array, options: SyncmlTokenizeOptions): Outcome {
  try {
    return { tokens: engines.syncmlTokenize(input, options) };
  } catch (error) {
    if (error instanceof SyncmlError) return { error };
    throw error;
  }
}

function sameTokens(a: SyncmlTokens, b: SyncmlTokens): boolean {
  if (a.format !== b.format || a.count !== b.count || a.wbxmlVersion !== b.wbxmlVersion || a.publicId !== b.publicId) return false;
  if (a.publicIdStart !== b.publicIdStart || a.publicIdEnd !== b.publicIdEnd || a.charset !== b.charset) return false;
  if (a.tokens.length !== b.tokens.length) return false;
  for (let k = 0; k < a.tokens.length; k++) if (a.tokens[k] !== b.tokens[k]) return false;
  return true;
}

/** Nesting, spans in bounds, Close tags matching their Open. */
function checkStream(r: SyncmlTokens, length: number): void {
  const open: number[] = [];
  const t = r.tokens;
  if (t.length !== r.count * RECORD_WORDS) throw new Error('token array length differs from count');
  for (let w = 0; w < t.length; w += RECORD_WORDS) {
    const [kind, tag, start, end] = [t[w], t[w + 1], t[w + 2], t[w + 3]] as [number, number, number, number];
    if (!(start >= 0 && start <= end && end <= length)) throw new Error(`record ${w / RECORD_WORDS}: span ${start}..${end} outside 0..${length}`);
    if (kind === TokenKind.Open) open.push(tag);
    else if (kind === TokenKind.Close) {
      if (open.pop() !== tag) throw new Error(`record ${w / RECORD_WORDS}: Close ${tag} does not match its Open`);
    } else if (open.length === 0) throw new Error(`record ${w / RECORD_WORDS}: content outside the root`);
  }
  if (open.length !== 0 || r.count === 0) throw new Error('unbalanced stream');
}

/**
 * Runs the input through both engines in both modes (and once with small limits). Returns the
 * SyncmlError of the lenient run when both engines refused the input (callers rethrow it as the
 * expected outcome), else undefined: the strict and small-limit runs only have to agree.
 */
export function checkEngines(wasm: Engines, js: Engines, input: Uint8Array, format: 'xml' | 'wbxml' | 'auto'): SyncmlError | undefined {
  let lenient: SyncmlError | undefined;
  const variants: SyncmlTokenizeOptions[] = [{ format }, { format, strict: true }, { format, maxDepth: 3, maxTokens: 24 }];
  for (const options of variants) {
    const a = outcome(wasm, input, options);
    const b = outcome(js, input, options);
    if ('error' in a || 'error' in b) {
      if (!('error' in a && 'error' in b) || a.error.code !== b.error.code || a.error.offset !== b.error.offset || a.error.message !== b.error.message) {
        throw new Error(`engines disagree (${JSON.stringify(options)}): wasm ${'error' in a ? a.error.message : 'ok'}, js ${'error' in b ? b.error.message : 'ok'}`);
      }
      if (a.error.offset < 0 || a.error.offset > Math.max(input.length, options.maxBytes ?? 0)) throw new Error(`error offset ${a.error.offset} outside the input`);
      if (options === variants[0]) lenient = a.error;
    } else {
      if (!sameTokens(a.tokens, b.tokens)) throw new Error(`engines disagree on the tokens (${JSON.stringify(options)})`);
      checkStream(a.tokens, input.length);
    }
  }
  return lenient;
}

/** A fuzz target over one format: both engines (checkEngines) on seeds and generated inputs. */
export async function syncmlTarget(name: string, format: 'xml' | 'wbxml', seeds: () => Uint8Array[], generate: (random: () => number) => Uint8Array): Promise<FuzzTarget> {
  const wasm = await loadEngines({ wasm: createNodeWasmHost(), engine: 'wasm' });
  const js = await loadEngines({ engine: 'js' });
  return {
    name,
    seeds,
    generate,
    run(input) {
      const error = checkEngines(wasm, js, input, format);
      if (error) throw error;
    },
    isExpected: (error) => error instanceof SyncmlError,
  };
}
