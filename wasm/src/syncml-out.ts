/**
 * Shared pieces of the JS SyncML tokenizers: the growing token buffer (bounded by maxTokens, so
 * the allocation is bounded by the input too) and the resolved limits.
 */
import { EngineError, SyncmlError } from './errors.ts';
import { DEFAULT_LIMITS, MAX_LIMITS, RECORD_WORDS, type SyncmlFormat, type SyncmlTokenizeOptions } from './syncml-tokens.ts';

export interface Limits {
  strict: boolean;
  maxBytes: number;
  maxDepth: number;
  maxTokens: number;
}

function limit(options: SyncmlTokenizeOptions, name: keyof typeof DEFAULT_LIMITS): number {
  const value = options[name] ?? DEFAULT_LIMITS[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIMITS[name]) {
    throw new EngineError('invalidOptions', `syncml: ${name} must be an integer in 1..${MAX_LIMITS[name]}, got ${String(value)}`);
  }
  return value;
}

export function resolveLimits(options: SyncmlTokenizeOptions = {}): Limits {
  if (options.strict !== undefined && typeof options.strict !== 'boolean') throw new EngineError('invalidOptions', 'syncml: strict must be a boolean');
  return { strict: options.strict === true, maxBytes: limit(options, 'maxBytes'), maxDepth: limit(options, 'maxDepth'), maxTokens: limit(options, 'maxTokens') };
}

/** First byte → format: WBXML starts with its version byte 1–3, XML with `<`, a BOM or whitespace. */
export function detectFormat(b: Uint8Array, requested: SyncmlTokenizeOptions['format']): SyncmlFormat {
  if (requested === 'xml' || requested === 'wbxml') return requested;
  if (requested !== undefined && requested !== 'auto') throw new EngineError('invalidOptions', `syncml: format must be 'xml', 'wbxml' or 'auto', got ${String(requested)}`);
  const c = b.length > 0 ? (b[0] as number) : -1;
  if (c >= 1 && c <= 3) return 'wbxml';
  if (c === 0x3c || c === 0xef || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return 'xml';
  throw new SyncmlError(b.length === 0 ? 'unexpectedEnd' : 'unknownFormat', 0);
}

export class TokenOut {
  buf: Int32Array;
  /** Words written. */
  w = 0;
  private readonly maxWords: number;
  private readonly format: SyncmlFormat;

  constructor(inputLength: number, maxTokens: number, format: SyncmlFormat) {
    this.maxWords = maxTokens * RECORD_WORDS;
    this.format = format;
    // Indented SyncML averages ~12 bytes per token; start near that and double when needed.
    this.buf = new Int32Array(Math.min(maxTokens, (inputLength >> 3) + 16) * RECORD_WORDS);
  }

  push(kind: number, tag: number, start: number, end: number): void {
    let w = this.w;
    if (w === this.buf.length) w = this.grow(start);
    const buf = this.buf;
    buf[w] = kind;
    buf[w + 1] = tag;
    buf[w + 2] = start;
    buf[w + 3] = end;
    this.w = w + RECORD_WORDS;
  }

  private grow(offset: number): number {
    if (this.w >= this.maxWords) throw new SyncmlError('tooManyTokens', offset, this.format);
    const next = new Int32Array(Math.min(this.maxWords, this.buf.length * 2));
    next.set(this.buf);
    this.buf = next;
    return this.w;
  }

  /** The records, exactly: a view of this buffer, which nothing else references afterwards. */
  result(): Int32Array {
    return this.buf.subarray(0, this.w);
  }
}
