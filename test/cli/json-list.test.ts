/**
 * Package list files of any size (cli/json-list.ts): the chunked scanner accepts exactly what
 * JSON.parse accepts (for arrays), with the same values, however the bytes are split; and
 * `dm-agent diff` works on a file longer than V8's longest string.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:buffer';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as diff } from '../../cli/commands/diff.ts';
import { JsonArrayScanner, JsonListError, MAX_ELEMENT_BYTES, keepDiffFields, readJsonList } from '../../cli/json-list.ts';

const encoder = new TextEncoder();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dm-agent-json-list-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds `bytes` in pieces cut at `cuts` (offsets, any order). */
function scan(bytes: Uint8Array, cuts: number[]): unknown[] {
  const scanner = new JsonArrayScanner();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, bytes.length]) {
    // A copy per piece, reused afterwards like the reader's buffer, so kept views would show it.
    const piece = bytes.slice(from, point);
    scanner.feed(piece);
    piece.fill(0x7e);
    from = point;
  }
  return scanner.end();
}

/**
 * What the scanner must return for a file holding `text`: JSON.parse's array (of the file read as
 * UTF-8, as the whole-file path does) with the diff fields kept, or an error code.
 */
function expected(text: string): unknown[] | 'malformed' | 'notArray' {
  // A lone surrogate is written as U+FFFD; a U+FEFF stays, as in readFile(…, 'utf8').
  text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(encoder.encode(text));
  // A streamed file must start with '[' (after whitespace), valid JSON or not.
  if (!/^[ \t\n\r]*\[/.test(text)) return /^[ \t\n\r]*$/.test(text) ? 'malformed' : 'notArray';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  return (value as unknown[]).map(keepDiffFields);
}

function outcome(bytes: Uint8Array, cuts: number[]): unknown[] | string {
  try {
    return scan(bytes, cuts);
  } catch (error) {
    if (error instanceof JsonListError) return error.code;
    throw error;
  }
}

const entry = fc.record(
  {
    name: fc.string({ unit: 'binary', maxLength: 12 }),
    version: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
    digest: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
    optional: fc.oneof(fc.boolean(), fc.constant('yes')),
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);
const element = fc.oneof({ weight: 4, arbitrary: entry }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
const space = fc.stringMatching(/^[ \t\n\r]{0,3}$/);
/** A JSON array with random whitespace between every token JSON.stringify writes (via its indent). */
const document = fc.tuple(fc.array(element, { maxLength: 8 }), space, space, fc.constantFrom(undefined, 1, '\t', ' \n ')).map(([items, before, after, indent]) => `${before}${JSON.stringify(items, null, indent as never)}${after}`);
const cuts = fc.array(fc.nat(), { maxLength: 6 });

describe('JsonArrayScanner', () => {
  it('valid arrays: the same values as JSON.parse, however the bytes are split', () => {
    fc.assert(
      fc.property(document, cuts, (text, at) => {
        expect(outcome(encoder.encode(text), at)).toEqual(expected(text));
      }),
      { numRuns: 400 },
    );
  });

  it('damaged documents: rejected exactly when JSON.parse rejects them', () => {
    const damage = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom('[', ']', '{', '}', ',', '"', ':', '\\', ' ', 'a', '1', '\u0001', 'é')), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(document, damage, cuts, (text, edits, at) => {
        let damaged = text;
        for (const [position, kind, char] of edits) {
          const p = position % (damaged.length + 1);
          // 0: insert, 1: delete, 2: replace one character.
          damaged = kind === 0 ? damaged.slice(0, p) + char + damaged.slice(p) : kind === 1 ? damaged.slice(0, p) + damaged.slice(p + 1) : damaged.slice(0, p) + char + damaged.slice(p + 1);
        }
        expect(outcome(encoder.encode(damaged), at)).toEqual(expected(damaged));
      }),
      { numRuns: 1500 },
    );
  });

  it('fixed cases: empty slots, trailing data, nesting, strings with brackets and escapes', () => {
    const cases = ['[]', ' [ ] ', '[,]', '[1,]', '[,1]', '[1 2]', '[1]]', '[1] x', '[[1},2]', '[{"a":"]},\\""}]', '["\\\\",1]', '', '   ', '{}', '"[1]"', '[', '[{"name":"a"', '\ufeff[]', '[\ufeff1]', '[1]\n', '[{"name":"x\\u005d"}]'];
    for (const text of cases) expect(outcome(encoder.encode(text), [1, 3]), JSON.stringify(text)).toEqual(expected(text));
  });

  it('invalid UTF-8 becomes U+FFFD as in a whole-file read', () => {
    const bytes = new Uint8Array([0x5b, 0x22, 0xe2, 0x82, 0x22, 0x2c, 0x22, 0xff, 0x61, 0x22, 0x5d]); // ["\xe2\x82","\xffa"]
    expect(scan(bytes, [3])).toEqual(JSON.parse(new TextDecoder().decode(bytes)));
  });

  it('an element larger than the limit is a typed error, not unbounded memory', () => {
    const scanner = new JsonArrayScanner();
    scanner.feed(encoder.encode('[{"name":"'));
    const filler = new Uint8Array(1024 * 1024).fill(0x61);
    let error: unknown;
    try {
      for (let fed = 0; fed <= MAX_ELEMENT_BYTES; fed += filler.length) scanner.feed(filler);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(JsonListError);
    expect(error).toMatchObject({ code: 'tooLarge' });
  });
});

describe('readJsonList', () => {
  it('streamed and whole-file reads agree (streaming forced with a zero threshold)', async () => {
    const list = [{ name: 'a', version: '1', digest: 'd', optional: true, url: 'http://x', size: 3 }, { name: 'b', version: '2' }, 'odd', null];
    const file = join(dir, 'small.json');
    writeFileSync(file, JSON.stringify(list, null, 2));
    expect(await readJsonList(file, 0)).toEqual((await readJsonList(file)) as unknown[]);
    expect(await readJsonList(file, 0)).toEqual(list.map(keepDiffFields));
    writeFileSync(file, '{"name": "a"}');
    await expect(readJsonList(file, 0)).rejects.toMatchObject({ code: 'notArray' });
    expect(await readJsonList(file)).toEqual({ name: 'a' });
  });

  it(`dm-agent diff on a list longer than V8's longest string (${constants.MAX_STRING_LENGTH} characters)`, async () => {
    // Entries padded with a field the diff ignores, as real manifests carry URLs, sizes and notes.
    const file = join(dir, 'huge.json');
    const out = createWriteStream(file);
    const padding = 'x'.repeat(4000);
    const count = Math.ceil(constants.MAX_STRING_LENGTH / 4000) + 1000;
    out.write('[\n');
    for (let i = 0; i < count; i++) {
      const line = `${i > 0 ? ',\n' : ''}{"name":"pkg-${i}","version":"${i % 7 === 0 ? 2 : 1}","notes":"${padding}"}`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end('\n]\n');
    await once(out, 'finish');
    expect(statSync(file).size).toBeGreaterThan(constants.MAX_STRING_LENGTH);
    const desired = join(dir, 'desired.json');
    writeFileSync(desired, JSON.stringify([{ name: 'pkg-0', version: '2' }, { name: 'pkg-1', version: '2' }, { name: 'new', version: '1' }]));

    let stdout = '';
    let stderr = '';
    const code = await diff([file, desired, '--json'], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as Record<string, { name: string }[]>;
    expect(plan['install']).toEqual([{ name: 'new', version: '1' }]);
    expect(plan['keep']).toEqual([{ name: 'pkg-0', version: '2' }]);
    expect(plan['upgrade']).toEqual([{ name: 'pkg-1', from: '1', to: '2' }]);
    expect(plan['remove']?.length).toBe(count - 2);
    rmSync(file);
  }, 300_000);
});
