/**
 * The SyncML tokenizer on hand-written inputs, in both engines: the token stream, the header facts,
 * lenient vs strict, typed errors with byte offsets, limits.
 */
import { describe as suite, expect, it } from 'vitest';
import { SyncmlError, EngineError, PUBLIC_ID_SYNCML_12, TAG_UNKNOWN, TokenKind, TEXT_RAW, TEXT_SPACE, SYNCML_TAGS, METINF_TAGS, codeForName, DEFAULT_LIMITS, type SyncmlTokenizeOptions } from '../../wasm/index.ts';
import { utf8Encode } from '../../agent/util/bytes.ts';
import { ENGINES, engines } from './engines.ts';
import { describe } from './syncml-support.ts';

const xml = (text: string) => utf8Encode(text);
const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...utf8Encode(p)])));

for (const variant of ENGINES) {
  suite(`syncml tokenizer (${variant})`, () => {
    const tokenize = async (input: Uint8Array, options?: SyncmlTokenizeOptions) => (await engines(variant)).syncmlTokenize(input, options);
    const lines = async (input: Uint8Array, options?: SyncmlTokenizeOptions) => describe(input, await tokenize(input, options));
    const error = async (input: Uint8Array, options?: SyncmlTokenizeOptions): Promise<SyncmlError> => {
      try {
        await tokenize(input, options);
      } catch (e) {
        expect(e).toBeInstanceOf(SyncmlError);
        return e as SyncmlError;
      }
      throw new Error(`no error for ${Array.from(input, (c) => c.toString(16)).join(' ')}`);
    };

    it('tokenizes elements by local name whatever the namespace, with exact spans', async () => {
      const input = xml(`<?xml version="1.0"?>\n<SyncML xmlns='syncml:SYNCML1.1'><SyncHdr><VerDTD>1.1</VerDTD></SyncHdr><x:Meta><Type xmlns="syncml:metinf">a</Type><Vendor/></x:Meta></SyncML>`);
      const r = await tokenize(input);
      expect(r.format).toBe('xml');
      expect(describe(input, r)).toEqual(['<SyncML', '<SyncHdr', '<VerDTD', '0"1.1"', '>VerDTD', '>SyncHdr', '<Meta', '<Type', '0"a"', '>Type', '<?Vendor', '>?', '>Meta', '>SyncML']);
      // Open: the local name; Close: the end tag or the `/>`.
      expect([...r.tokens.subarray(0, 4)]).toEqual([TokenKind.Open, 0x2d, 23, 29]);
      const meta = input.indexOf('x:Meta'.charCodeAt(0), 80);
      expect(r.tokens[6 * 4 + 2]).toBe(input.indexOf(0x4d, meta)); // "Meta" after the prefix
      const vendor = 10 * 4;
      expect(r.tokens[vendor + 1]).toBe(TAG_UNKNOWN);
      const slash = new TextDecoder().decode(input).indexOf('/>');
      expect([...r.tokens.subarray(vendor + 4, vendor + 8)]).toEqual([TokenKind.Close, TAG_UNKNOWN, slash, slash + 2]);
      expect(r.tokens.length).toBe(r.count * 4);
    });

    it('accepts the root namespace in any spelling or none, and a leading tab', async () => {
      for (const root of ['<SyncML xmlns="SYNCML:SYNCML1.2">', "<SyncML xmlns='syncml:syncml1.1'>", '\t<SyncML>']) {
        expect(await lines(xml(`${root}<Final /></SyncML>`), { strict: true })).toEqual(['<SyncML', '<Final', '>Final', '>SyncML']);
      }
    });

    it('keeps CDATA bodies, including one ending in ]', async () => {
      expect(await lines(xml('<Data><![CDATA[a<b>]]]><![CDATA[]]></Data>'), { strict: true })).toEqual(['<Data', '[1:a<b>]]', '[1:]', '>Data']);
    });

    it('leaves references in TEXT_RAW spans and decodes them', async () => {
      const input = xml('<Data>a &lt;&amp;&gt;&apos;&quot; &#65;&#x1F600;</Data>');
      const r = await tokenize(input, { strict: true });
      expect(r.tokens[5]).toBe(TEXT_RAW);
      expect(describe(input, r)[1]).toBe(`1${JSON.stringify(`a <&>'" A\u{1f600}`)}`);
    });

    it('keeps whitespace exactly and flags whitespace-only runs', async () => {
      const input = xml('<Item>\n  <Data> Linux\r\n</Data>\n  <Data>  </Data></Item>');
      const r = await tokenize(input);
      expect(describe(input, r)).toEqual(['<Item', '2"\\n  "', '<Data', '0" Linux\\r\\n"', '>Data', '2"\\n  "', '<Data', '2"  "', '>Data', '>Item']);
      expect(r.tokens[4 * 1 + 1]).toBe(TEXT_SPACE);
    });

    it('skips comments and processing instructions anywhere, splitting text', async () => {
      const input = xml('<!-- a --><?pi x?><SyncML><Data>ab<!-- c -->cd<?x y?>e</Data><!---->\n</SyncML><!-- end -->\n');
      expect(await lines(input, { strict: true })).toEqual(['<SyncML', '<Data', '0"ab"', '0"cd"', '0"e"', '>Data', '2"\\n"', '>SyncML']);
    });

    it('skips attributes and a DOCTYPE, recording its public id', async () => {
      const text = `<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" 'http://x/y.dtd'>\n<SyncML a = "1>" b='2'><Final/></SyncML>`;
      const r = await tokenize(xml(text), { strict: true });
      expect(text.slice(r.publicIdStart, r.publicIdEnd)).toBe('-//SYNCML//DTD SyncML 1.2//EN');
      expect(r.count).toBe(4);
    });

    it('accepts raw elements inside <Data>', async () => {
      expect(await lines(xml('<Data><MgmtTree xmlns="syncml:dmddf1.2"><Node><Format><node/></Format></Node></MgmtTree></Data>'), { strict: true })).toEqual([
        '<Data', '<?MgmtTree', '<?Node', '<Format', '<?node', '>?', '>Format', '>?', '>?', '>Data',
      ]);
    });

    it('lenient keeps a bare & as text, strict names its offset', async () => {
      const input = xml('<Data>MAXDT=15&DR=1 &amp;c &#0; &#xD800;</Data>');
      expect(await lines(input)).toEqual(['<Data', '1"MAXDT=15&DR=1 &c &#0; &#xD800;"', '>Data']);
      const e = await error(input, { strict: true });
      expect([e.code, e.offset, e.format]).toEqual(['badReference', 14, 'xml']);
      expect(e.message).toContain('at byte 14');
      expect((await error(xml('<Data>&#0;</Data>'), { strict: true })).offset).toBe(6);
      expect((await error(xml('<Data>&#xD800;</Data>'), { strict: true })).code).toBe('badReference');
      expect((await error(xml('<Data>&nbsp;</Data>'), { strict: true })).code).toBe('badReference');
    });

    it('lenient accepts --!> and -- in comments; strict refuses them at the --', async () => {
      for (const comment of ['<!-- a --!>', '<!-- a -- b -->']) {
        const input = xml(`<A>${comment}</A>`);
        expect(await lines(input)).toEqual(['<?A', '>?']);
        expect(await error(input, { strict: true })).toMatchObject({ code: 'badComment', offset: 10 });
      }
    });

    it('reports malformed markup with offsets', async () => {
      const cases: [string, string, number][] = [
        ['<A></B>', 'mismatchedTag', 3],
        ['<A></AB>', 'mismatchedTag', 3],
        ['<AB></A>', 'mismatchedTag', 4],
        ['<A>', 'unexpectedEnd', 3],
        ['<A><![CDATA[x]]</A>', 'unexpectedEnd', 19],
        ['<A><!-- x </A>', 'unexpectedEnd', 14],
        ['<A b="1></A>', 'unexpectedEnd', 12],
        ['<A b></A>', 'malformed', 4],
        ['<A b="1"c="2"></A>', 'malformed', 8],
        ['<A/><B/>', 'malformed', 4],
        [' x<A/>', 'malformed', 1],
        ['<A/>x', 'malformed', 4],
        ['</A>', 'malformed', 0],
        ['<A>< B</A>', 'malformed', 4],
        ['<A><!X></A>', 'malformed', 3],
        ['<A><![CDATA[x]]></A', 'unexpectedEnd', 19],
        ['   ', 'unexpectedEnd', 3],
        ['<A/ >', 'malformed', 3],
        ['<!DOCTYPE A PUBLIC x><A/>', 'malformed', 19],
      ];
      for (const [text, code, offset] of cases) {
        expect({ text, ...(await error(xml(text))) }).toMatchObject({ text, code, offset });
      }
    });

    it('strict refuses bad names and a late XML declaration', async () => {
      expect(await error(xml('<1A/>'), { strict: true })).toMatchObject({ code: 'malformed', offset: 1 });
      expect(await error(xml('<A/><?xml version="1.0"?>'), { strict: true })).toMatchObject({ code: 'malformed', offset: 4 });
      expect(await lines(xml('<1A/>'))).toEqual(['<?1A', '>?']);
    });

    it('enforces the limits with typed errors', async () => {
      const deep = xml('<A><A><A><A></A></A></A></A>');
      expect(await error(deep, { maxDepth: 3 })).toMatchObject({ code: 'tooDeep', offset: 9 });
      expect((await tokenize(deep, { maxDepth: 4 })).count).toBe(8);
      expect(await error(deep, { maxTokens: 5 })).toMatchObject({ code: 'tooManyTokens', offset: 16 });
      expect((await tokenize(deep, { maxTokens: 8 })).count).toBe(8);
      expect(await error(deep, { maxBytes: 27 })).toMatchObject({ code: 'tooLarge', offset: 27 });
      for (const bad of [{ maxDepth: 0 }, { maxTokens: 1.5 }, { maxBytes: -1 }, { format: 'html' }, { strict: 1 }] as SyncmlTokenizeOptions[]) {
        await expect(tokenize(deep, bad)).rejects.toBeInstanceOf(EngineError);
      }
    });

    it('maps every SyncML and MetInf name to its code, and near misses to TAG_UNKNOWN', async () => {
      const names = [...SYNCML_TAGS, ...METINF_TAGS];
      const near = ['add', 'Adds', 'SyncM', 'MetInF', 'Alerts', 'Cm', 'FieldLeve', 'VerDT', 'LocUR'];
      const input = xml(`<R>${[...names, ...near].map((n) => `<x:${n}/>`).join('')}</R>`);
      const r = await tokenize(input);
      const opens = Array.from({ length: r.count }, (_, k) => r.tokens.subarray(k * 4, k * 4 + 4)).filter((t) => t[0] === TokenKind.Open).slice(1);
      expect(opens.map((t) => t[1])).toEqual([...names.map((n) => codeForName(n)), ...near.map(() => TAG_UNKNOWN)]);
      expect(new Set(names.map((n) => codeForName(n))).size).toBe(names.length);
    });

    it('large inputs end in a limit error, not a hang or an unbounded allocation', async () => {
      expect(await error(xml('<A>'.repeat(200_000)))).toMatchObject({ code: 'tooDeep', offset: DEFAULT_LIMITS.maxDepth * 3 });
      // 1 + 2 × 600 000 records > 2^20: the record #2^20 is the Close of the 524 288th <a/>.
      const many = xml(`<R>${'<a/>'.repeat(600_000)}</R>`);
      expect(await error(many)).toMatchObject({ code: 'tooManyTokens', offset: 3 + 4 * 524_287 + 2 });
      expect((await tokenize(many, { maxTokens: 1_200_002 })).count).toBe(1_200_002);
      expect(await error(new Uint8Array(DEFAULT_LIMITS.maxBytes + 1).fill(0x20))).toMatchObject({ code: 'tooLarge', offset: DEFAULT_LIMITS.maxBytes });
      const text = xml(`<Data>${'x'.repeat(3_000_000)}</Data>`);
      expect(await lines(text)).toHaveLength(3);
      // The engine is reusable after large inputs.
      expect(await lines(xml('<Final/>'))).toEqual(['<Final', '>Final']);
    });

    it('detects the format and refuses unknown input', async () => {
      expect(await error(bytes(0x7f, 0x3c))).toMatchObject({ code: 'unknownFormat', offset: 0 });
      expect(await error(new Uint8Array(0))).toMatchObject({ code: 'unexpectedEnd', offset: 0 });
      expect(await error(xml('<A/>'), { format: 'wbxml' })).toMatchObject({ code: 'badHeader', offset: 0 });
    });

    // WBXML: version 1.2, public id 0x1201 (A4 01), UTF-8, a string table "syncml:metinf\0./x\0".
    const head = (table: string) => [0x02, 0xa4, 0x01, 0x6a, table.length, table] as (number | string)[];
    const table = 'syncml:metinf\0./x\0';

    it('tokenizes WBXML: pages, STR_I, STR_T, OPAQUE, ENTITY, empty tags', async () => {
      // SyncML( Final, Data("a" &#x263A; STR_T 14 opaque"\x01\x02"), SWITCH_PAGE 1 Meta? no: Type(STR_T 0) )
      const input = bytes(...head(table), 0x6d, 0x12, 0x4f, 0x03, 'a\0', 0x02, 0xcc, 0x3a, 0x83, 14, 0xc3, 2, 1, 2, 0x01, 0x00, 0x01, 0x53, 0x83, 0, 0x01, 0x00, 0x00, 0x01);
      const r = await tokenize(input, { strict: true });
      expect(r).toMatchObject({ format: 'wbxml', wbxmlVersion: 2, publicId: PUBLIC_ID_SYNCML_12, charset: 106, publicIdStart: 0, publicIdEnd: 0 });
      expect(describe(input, r)).toEqual(['<SyncML', '<Final', '>Final', '<Data', '0"a"', '&#9786;', '0"./x"', '[0:\u0001\u0002]', '>Data', '<Type', '0"syncml:metinf"', '>Type', '>SyncML']);
      const start = 5 + table.length;
      expect([...r.tokens.subarray(4, 12)]).toEqual([TokenKind.Open, 0x12, start + 1, start + 2, TokenKind.Close, 0x12, start + 2, start + 2]);
      expect([...r.tokens.subarray(6 * 4, 6 * 4 + 4)]).toEqual([TokenKind.Text, 0, 5 + 14, 5 + 17]); // STR_T → a span of the table
    });

    it('reads literal public ids with and without NUL, and other pages as page<<8|token', async () => {
      const id = '-//SYNCML//DTD SyncML 1.2//EN';
      for (const t of [id, `${id}\0`]) {
        const input = bytes(0x03, 0x00, 0x00, 0x6a, t.length, t, 0x00, 0x02, 0x45, 0x01);
        const r = await tokenize(input, { strict: true });
        expect(new TextDecoder().decode(input.subarray(r.publicIdStart, r.publicIdEnd))).toBe(id);
        expect(r.publicId).toBe(0);
        expect(r.tokens[1]).toBe(0x205);
      }
    });

    it('refuses attributes, extensions, PIs and bad references with offsets', async () => {
      const h = head(table);
      const at = 5 + table.length;
      const cases: [(number | string)[], string, number, SyncmlTokenizeOptions?][] = [
        [[...h, 0xed, 0x01], 'wbxmlAttributes', at],
        [[...h, 0x6d, 0x84, 0x01], 'wbxmlAttributes', at + 1],
        [[...h, 0x6d, 0x40, 0x01], 'unsupportedToken', at + 1],
        [[...h, 0x6d, 0x43, 0x01], 'unsupportedToken', at + 1],
        [[...h, 0x6d, 0x83, 18, 0x01], 'badStringRef', at + 1],
        [[...h, 0x6d, 0x03, 'abc'], 'unexpectedEnd', at + 5],
        [[...h, 0x6d, 0xc3, 9, 0x01], 'unexpectedEnd', at + 4],
        [[...h, 0x6d], 'unexpectedEnd', at + 1],
        [[...h, 0x6d, 0x01, 0x01], 'trailingData', at + 2, { strict: true }],
        [[...h, 0x01], 'malformed', at],
        [[...h, 0x03, 'a\0'], 'malformed', at],
        [[...h, 0x2d, 0x2d], 'trailingData', at + 1, { strict: true }],
        [[...h, 0x6d, 0x02, 0xc4, 0x80, 0x00, 0x01], 'malformed', at + 1],
        [[...h, 0x6d, 0x02, 0x8f, 0xff, 0xff, 0xff, 0x7f], 'malformed', at + 2],
        [[0x02, 0xa4, 0x01, 0x83, 0x77, 0, 0x45, 0x01], 'unsupportedCharset', 3],
        [[0x02, 0xa4, 0x01, 0x6a, 5, 'ab'], 'unexpectedEnd', 7],
        [[0x02, 0x00, 0x03, 0x6a, 2, 'ab', 0x45, 0x01], 'badStringRef', 2],
        [[0x02, 0x00, 0x00, 0x6a, 2, 'ab', 0x44, 0x00, 0x01], 'badStringRef', 7, { strict: true }],
        [[0x04, 0x00], 'unknownFormat', 0],
      ];
      for (const [parts, code, offset, options] of cases) {
        const e = await error(bytes(...parts), options);
        expect({ parts, code: e.code, offset: e.offset }).toEqual({ parts, code, offset });
      }
      // lenient: trailing bytes ignored, unterminated table string ends at the table's end
      expect((await tokenize(bytes(...h, 0x6d, 0x01, 0x01, 0x99))).count).toBe(2);
      expect(await lines(bytes(0x02, 0x00, 0x00, 0x6a, 2, 'ab', 0x44, 0x00, 0x01))).toEqual(['<?ab', '>?']);
    });

    it('WBXML limits', async () => {
      const input = bytes(...head(table), 0x6d, 0x6d, 0x6d, 0x12, 0x01, 0x01, 0x01);
      const at = 5 + table.length;
      expect(await error(input, { maxDepth: 3 })).toMatchObject({ code: 'tooDeep', offset: at + 3 });
      expect(await error(input, { maxTokens: 4 })).toMatchObject({ code: 'tooManyTokens', offset: at + 4 });
      expect((await tokenize(input, { maxDepth: 4, maxTokens: 8 })).count).toBe(8);
    });
  });
}
