/**
 * JSON in, canonical JSON out, as TUF signs it (the OLPC "Canonical JSON" dialect that
 * securesystemslib, python-tuf and tuf-js use): no whitespace, object keys sorted, integers only,
 * strings with only `"` and `\` escaped (every other character as is, UTF-8 on the wire).
 *
 * The parser reads ordinary JSON (metadata files are usually pretty-printed) but stricter than
 * JSON.parse, because what it accepts is then signed-over: a duplicate key would let two parsers
 * see two different documents behind one signature, so it is refused; so are fractions and
 * exponents (canonical JSON has no floats), integers beyond 2^53, lone surrogates, invalid UTF-8,
 * and anything over the size, depth or value-count bounds (endless data). Every refusal is a
 * `TrustError` (`malformed` or `tooLarge`); the parser never throws anything else and never
 * recurses deeper than `maxDepth`.
 */
import { setOwn, hasOwn } from '../util/own.ts';
import { equalBytes, utf8Decode, utf8Encode } from '../util/bytes.ts';
import { TrustError } from './errors.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonLimits {
  /** Largest document in UTF-8 bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Most values (each scalar, array and object counts one). */
  maxValues: number;
}

/** Bounds for one metadata file: a targets role of ~10 000 entries fits. */
export const METADATA_LIMITS: JsonLimits = { maxBytes: 8 * 1024 * 1024, maxDepth: 16, maxValues: 400_000 };

export function parseJson(input: Uint8Array | string, limits: JsonLimits = METADATA_LIMITS): JsonValue {
  let text: string;
  if (typeof input === 'string') {
    if (input.length > limits.maxBytes) throw new TrustError('tooLarge', `document over ${limits.maxBytes} bytes`);
    text = input;
  } else {
    if (input.length > limits.maxBytes) throw new TrustError('tooLarge', `document of ${input.length} bytes, over ${limits.maxBytes}`);
    text = utf8Decode(input);
    // The decoder replaces bad sequences; a signed document must be exactly what was sent.
    if (text.indexOf('\ufffd') >= 0 && !equalBytes(utf8Encode(text), input)) throw new TrustError('malformed', 'invalid UTF-8');
  }
  return new Parser(text, limits).document();
}

// TypeScript-private fields set in the constructor, not `#` fields or initializers: in a QuickJS
// heap each `#` name and each initializer is more code (the parser is loaded with every root).
class Parser {
  private declare i: number;
  private declare values: number;
  private declare readonly s: string;
  private declare readonly limits: JsonLimits;

  constructor(text: string, limits: JsonLimits) {
    this.i = 0;
    this.values = 0;
    this.s = text;
    this.limits = limits;
  }

  document(): JsonValue {
    const value = this.value(0);
    this.space();
    if (this.i !== this.s.length) this.fail('data after the document');
    return value;
  }

  private fail(what: string): never {
    throw new TrustError('malformed', `${what} at offset ${this.i}`);
  }

  private space(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.i++;
    }
  }

  private value(depth: number): JsonValue {
    if (++this.values > this.limits.maxValues) throw new TrustError('tooLarge', `more than ${this.limits.maxValues} values`);
    this.space();
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      if (depth >= this.limits.maxDepth) throw new TrustError('tooLarge', `nested deeper than ${this.limits.maxDepth}`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of WORDS) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return value;
      }
    }
    return this.fail(c === undefined ? 'unexpected end' : 'unexpected character');
  }

  private object(depth: number): JsonValue {
    const out: { [key: string]: JsonValue } = {};
    this.i++;
    this.space();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const key = this.string();
      if (hasOwn(out, key)) this.fail(`duplicate key ${JSON.stringify(key.slice(0, 40))}`);
      this.space();
      if (this.s[this.i] !== ':') this.fail('expected :');
      this.i++;
      setOwn(out, key, this.value(depth));
      this.space();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected , or }');
    }
  }

  private array(depth: number): JsonValue {
    const out: JsonValue[] = [];
    this.i++;
    this.space();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.space();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected , or ]');
    }
  }

  private number(): number {
    const match = INTEGER.exec(this.s.slice(this.i, this.i + 24));
    if (!match) this.fail('invalid number');
    const text = match[0];
    const next = this.s[this.i + text.length];
    if (next === '.' || next === 'e' || next === 'E') this.fail('fractions and exponents are not canonical JSON');
    const value = Number(text);
    if (!Number.isSafeInteger(value)) this.fail('integer beyond 2^53');
    this.i += text.length;
    return value === 0 ? 0 : value; // -0 is 0
  }

  private string(): string {
    const s = this.s;
    let out = '';
    let start = ++this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in a string');
      if (c >= 0xd800 && c <= 0xdfff) this.surrogate(c, s.charCodeAt(this.i + 1));
      if (c !== 0x5c) {
        this.i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
        continue;
      }
      out += s.slice(start, this.i);
      const e = s[this.i + 1];
      const simple = e === undefined ? undefined : ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        this.i += 2;
      } else if (e === 'u') {
        const unit = this.hex4(this.i + 2);
        this.i += 6;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (s[this.i] !== '\\' || s[this.i + 1] !== 'u') this.fail('lone surrogate');
          const low = this.hex4(this.i + 2);
          this.surrogate(unit, low);
          this.i += 6;
          out += String.fromCharCode(unit, low);
        } else {
          if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone surrogate');
          out += String.fromCharCode(unit);
        }
      } else this.fail('invalid escape');
      start = this.i;
    }
    out += s.slice(start, this.i);
    this.i++;
    return out;
  }

  private surrogate(high: number, low: number): void {
    if (!(high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff)) this.fail('lone surrogate');
  }

  private hex4(at: number): number {
    const text = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(text)) this.fail('invalid \\u escape');
    return parseInt(text, 16);
  }
}

const INTEGER = /^-?(0|[1-9][0-9]*)/;
const WORDS: readonly (readonly [string, JsonValue])[] = [['true', true], ['false', false], ['null', null]];
const ESCAPES: { readonly [key: string]: string } = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * The canonical form of a value, as a string (UTF-8 encode it to sign or verify). Keys sort by
 * UTF-16 code units, as tuf-js does (the same order as code points for every key below U+D800).
 * Anything JSON cannot carry as an integer-only document is a `malformed` TrustError.
 */
export function canonicalize(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0);
  return parts.join('');
}

export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalize(value));
}

function write(value: unknown, out: string[], depth: number): void {
  if (depth > 64) throw new TrustError('tooLarge', 'nested deeper than 64');
  if (value === null || value === true || value === false) out.push(String(value));
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TrustError('malformed', `${value} is not a safe integer`);
    out.push(String(value === 0 ? 0 : value));
  } else if (typeof value === 'string') out.push(quote(value));
  else if (Array.isArray(value)) {
    // Plain loops, not forEach callbacks: two functions fewer in a QuickJS heap.
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out, depth + 1);
    }
    out.push(']');
  } else if (typeof value === 'object' && isPlain(value)) {
    out.push('{');
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0) out.push(',');
      out.push(quote(key), ':');
      write(record[key], out, depth + 1);
    }
    out.push('}');
  } else throw new TrustError('malformed', `cannot encode ${typeof value} as canonical JSON`);
}

/** Plain records only (a Date or a Map would silently become `{}`). */
function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
