/**
 * Property tests: random models (arbitrary.ts) encode and decode back equal, in XML (compact and
 * pretty) and WBXML (with and without a string table), through both tokenizer engines; and
 * encoding is canonical (encode(decode(encode(m))) is byte-identical).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import { message } from './arbitrary.ts';
import { MODEL_ENGINES, tokenizer } from './support.ts';

const RUNS = 150;
const utf8 = new TextEncoder();

for (const engine of MODEL_ENGINES) {
  describe(`random models round-trip (${engine} engine)`, () => {
    it('XML, compact and pretty', async () => {
      const tokenize = await tokenizer(engine);
      fc.assert(
        fc.property(message({ binary: false }), fc.boolean(), (model, pretty) => {
          const xml = encodeXml(model, { pretty });
          const decoded = decodeMessage(utf8.encode(xml), { tokenize, mode: 'lenient' });
          expect(decoded.encoding).toBe('xml');
          expect(decoded.message).toEqual(model);
          expect(encodeXml(decoded.message, { pretty })).toBe(xml);
        }),
        { numRuns: RUNS },
      );
    });

    it('WBXML, with and without a string table', async () => {
      const tokenize = await tokenizer(engine);
      fc.assert(
        fc.property(message({ binary: true }), fc.boolean(), (model, stringTable) => {
          const wbxml = encodeWbxml(model, { stringTable });
          const decoded = decodeMessage(wbxml, { tokenize, mode: 'lenient' });
          expect(decoded.encoding).toBe('wbxml');
          expect(decoded.message).toEqual(model);
          expect(encodeWbxml(decoded.message, { stringTable })).toEqual(wbxml);
        }),
        { numRuns: RUNS },
      );
    });
  });
}
