/**
 * Reads a package list file (a JSON array of entries) for `dm-agent diff`, whatever its size.
 *
 * Files up to WHOLE_FILE_BYTES are read and parsed in one go (native, fastest). Larger ones would
 * hit V8's string length limit (about 512 MiB) and hold the text and the objects at once, so they
 * are read in chunks: a byte scanner finds the top-level array's elements (tracking strings,
 * escapes and nesting depth only) and each element is parsed on its own by JSON.parse. Only the
 * fields the diff reads are kept, so memory grows with the number of entries, not the file size.
 *
 * Both ways accept the same arrays (a streamed file whose top level is not an array is refused
 * with code notArray, without reading on): the scanner checks the top-level grammar
 * ('[' elements separated by ',' ']' and nothing but whitespace around), and JSON.parse checks each
 * element's text, which is everything between two top-level separators. Invalid UTF-8 becomes
 * U+FFFD either way (element boundaries are ASCII bytes, so no sequence is split).
 */
import { openRegularFile } from './io.ts';

export const WHOLE_FILE_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
/** A package entry is a few hundred bytes; a bigger element means a broken file, not a real entry. */
export const MAX_ELEMENT_BYTES = 16 * 1024 * 1024;

export type JsonListErrorCode = 'malformed' | 'notArray' | 'tooLarge';

/** The file is not valid JSON (or, streamed: its top level is not an array, or an element is too large). */
export class JsonListError extends Error {
  override readonly name = 'JsonListError';
  readonly code: JsonListErrorCode;
  constructor(code: JsonListErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c;
const OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d;

const isSpace = (byte: number) => byte === SPACE || byte === LF || byte === CR || byte === TAB;

/** The fields checkSide and the plan read; present-but-invalid values are kept so they are reported. */
export function keepDiffFields(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const entry = value as Record<string, unknown>;
  const kept: Record<string, unknown> = { name: entry['name'], version: entry['version'] };
  if ('digest' in entry) kept['digest'] = entry['digest'];
  if ('optional' in entry) kept['optional'] = entry['optional'];
  return kept;
}

type Phase = 'start' | 'element' | 'afterArray';

/** Incremental splitter of one top-level JSON array; feed() chunks, then end(). */
export class JsonArrayScanner {
  readonly items: unknown[] = [];
  private phase: Phase = 'start';
  private offset = 0; // bytes consumed before the current chunk
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pieces: Uint8Array[] = [];
  private elementStart = 0; // file offset of the current element's text
  private pending = 0; // bytes of the current element held in pieces
  private sawElement = false; // the array has at least one element (so ']' after ',' is an error)
  // ignoreBOM keeps a U+FEFF in the text, as a whole-file read does (JSON.parse then rejects it).
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  feed(chunk: Uint8Array): void {
    let from = 0; // start of the current element's bytes within this chunk
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.phase === 'start') {
        if (isSpace(byte)) continue;
        if (byte !== OPEN_ARRAY) throw new JsonListError('notArray', `the top-level value must be an array of package entries (byte ${this.offset + i})`);
        this.phase = 'element';
        from = i + 1;
        this.elementStart = this.offset + from;
        continue;
      }
      if (this.phase === 'afterArray') {
        if (!isSpace(byte)) throw this.fail(i, 'unexpected data after the array');
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) this.depth++;
      else if (this.depth > 0) {
        if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) this.depth--;
      } else if (byte === COMMA || byte === CLOSE_ARRAY) {
        this.pieces.push(chunk.subarray(from, i));
        this.finishElement(byte === CLOSE_ARRAY);
        from = i + 1;
        this.elementStart = this.offset + from;
        if (byte === CLOSE_ARRAY) this.phase = 'afterArray';
      } else if (byte === CLOSE_OBJECT) {
        throw this.fail(i, "unexpected '}'");
      }
    }
    // The element continues in the next chunk: keep a copy (the caller reuses its buffer).
    if (this.phase === 'element' && from < chunk.length) {
      this.pending += chunk.length - from;
      if (this.pending > MAX_ELEMENT_BYTES) throw new JsonListError('tooLarge', `array element ${this.items.length} (from byte ${this.elementStart}) is larger than ${MAX_ELEMENT_BYTES} bytes`);
      this.pieces.push(chunk.slice(from));
    }
    this.offset += chunk.length;
  }

  end(): unknown[] {
    if (this.phase === 'start') throw new JsonListError('malformed', 'no JSON value (empty file)');
    if (this.phase === 'element') throw new JsonListError('malformed', `unexpected end of data inside the array (from byte ${this.elementStart})`);
    return this.items;
  }

  private finishElement(closing: boolean): void {
    const pieces = this.pieces;
    this.pieces = [];
    this.pending = 0;
    let length = 0;
    for (const piece of pieces) length += piece.length;
    let bytes: Uint8Array;
    if (pieces.length === 1) bytes = pieces[0] as Uint8Array;
    else {
      bytes = new Uint8Array(length);
      let at = 0;
      for (const piece of pieces) {
        bytes.set(piece, at);
        at += piece.length;
      }
    }
    let blank = true;
    for (let i = 0; i < bytes.length && blank; i++) blank = isSpace(bytes[i] as number);
    if (blank) {
      // '[]' (with optional whitespace) is the empty array; any other empty slot is an error.
      if (closing && !this.sawElement) return;
      throw new JsonListError('malformed', `missing array element at byte ${this.elementStart}`);
    }
    this.sawElement = true;
    let value: unknown;
    try {
      value = JSON.parse(this.decoder.decode(bytes));
    } catch (error) {
      throw new JsonListError('malformed', `array element ${this.items.length} (bytes ${this.elementStart}–${this.elementStart + length}): ${(error as Error).message}`);
    }
    this.items.push(keepDiffFields(value));
  }

  private fail(index: number, what: string): JsonListError {
    return new JsonListError('malformed', `${what} (byte ${this.offset + index})`);
  }
}

/**
 * The file's JSON value, array elements reduced to the diff's fields (keepDiffFields): parsed
 * whole when small, else streamed (then it must be an array). Throws
 * the fs error when the file cannot be read (code ENOTREG for a FIFO or device, which is never
 * waited on), JsonListError when it is not valid JSON.
 */
export async function readJsonList(file: string, wholeFileBytes: number = WHOLE_FILE_BYTES): Promise<unknown> {
  const handle = await openRegularFile(file);
  try {
    // The size of the file just opened (one path lookup, no window for it to be swapped).
    const { size } = await handle.stat();
    if (size <= wholeFileBytes) {
      const text = await handle.readFile({ encoding: 'utf8' });
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new JsonListError('malformed', (error as Error).message);
      }
      // The same values as a streamed read, so the size of a file changes nothing downstream.
      return Array.isArray(value) ? value.map(keepDiffFields) : value;
    }
    const scanner = new JsonArrayScanner();
    const buffer = new Uint8Array(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      scanner.feed(buffer.subarray(0, bytesRead));
    }
    return scanner.end();
  } finally {
    await handle.close();
  }
}
