/**
 * The WASM engine's SyncML tokenizer: options, size limit and format detection in JS (shared with
 * the JS engine, syncml-out.ts), the pass in wasm/assembly/syncml.ts over a copy of the message in
 * its memory; the records are copied out once into the caller's Int32Array.
 */
import { EngineError, SYNCML_ERROR_CODES, SyncmlError } from './errors.ts';
import { detectFormat, resolveLimits } from './syncml-out.ts';
import { RECORD_WORDS, type SyncmlTokenizeOptions, type SyncmlTokens } from './syncml-tokens.ts';

export interface SyncmlExports {
  memory: { buffer: ArrayBuffer };
  prepare(length: number): number;
  tokenize(format: number, strict: number, maxDepth: number, maxTokens: number): number;
  errorOffset(): number;
  tokensPtr(): number;
  tokenCount(): number;
  wbxmlVersion(): number;
  publicId(): number;
  publicIdStart(): number;
  publicIdEnd(): number;
  charset(): number;
  outOfMemory(): number;
}

const FUNCTIONS = [
  'prepare', 'tokenize', 'errorOffset', 'tokensPtr', 'tokenCount', 'wbxmlVersion', 'publicId', 'publicIdStart', 'publicIdEnd', 'charset', 'outOfMemory',
] as const;

export function asSyncmlExports(exports: Record<string, unknown>): SyncmlExports {
  const memory = exports['memory'] as { buffer?: unknown } | undefined;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw new TypeError('syncml module exports no memory');
  for (const name of FUNCTIONS) if (typeof exports[name] !== 'function') throw new TypeError(`syncml module lacks ${name}()`);
  return exports as unknown as SyncmlExports;
}

export function createWasmSyncml(x: SyncmlExports): (bytes: Uint8Array, options?: SyncmlTokenizeOptions) => SyncmlTokens {
  const outOfMemory = x.outOfMemory();
  return function wasmTokenize(bytes, options = {}) {
    if (!(bytes instanceof Uint8Array)) throw new EngineError('invalidOptions', 'syncml: input must be a Uint8Array');
    const limits = resolveLimits(options);
    if (bytes.length > limits.maxBytes) throw new SyncmlError('tooLarge', limits.maxBytes);
    const format = detectFormat(bytes, options.format);
    const at = x.prepare(bytes.length);
    if (at === 0) throw new EngineError('wasmFailed', `syncml: out of WASM memory for a ${bytes.length}-byte message`);
    new Uint8Array(x.memory.buffer, at, bytes.length).set(bytes);
    const result = x.tokenize(format === 'xml' ? 0 : 1, limits.strict ? 1 : 0, limits.maxDepth, limits.maxTokens);
    if (result === outOfMemory) throw new EngineError('wasmFailed', `syncml: out of WASM memory for the tokens of a ${bytes.length}-byte message`);
    const code = SYNCML_ERROR_CODES[result - 1];
    if (result !== 0) {
      if (code === undefined) throw new EngineError('wasmFailed', `syncml module failed with code ${result}`);
      throw new SyncmlError(code, x.errorOffset(), format);
    }
    const count = x.tokenCount();
    const ptr = x.tokensPtr();
    // The memory may have grown during tokenize: take the buffer now.
    const tokens = new Int32Array(x.memory.buffer, ptr, count * RECORD_WORDS).slice();
    return {
      format, tokens, count,
      wbxmlVersion: x.wbxmlVersion(), publicId: x.publicId(), publicIdStart: x.publicIdStart(), publicIdEnd: x.publicIdEnd(), charset: x.charset(),
    };
  };
}
