/**
 * Round trips over the corpus: XML → model → XML and WBXML → model → WBXML give the same model back
 * and a canonical encoding (a second encode is identical); a model read from XML survives WBXML too.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import { CORPUS_PRESENT, tokenizer, wbxmlPairs, xmlCorpus } from './support.ts';

const utf8 = new TextEncoder();

describe.skipIf(!CORPUS_PRESENT)('corpus round trips', () => {
  it('XML → model → XML (compact and pretty) → the same model, and the encoding is canonical', async () => {
    const tokenize = await tokenizer('js');
    for (const file of xmlCorpus()) {
      const { message } = decodeMessage(file.bytes, { tokenize, mode: 'lenient' });
      for (const pretty of [false, true]) {
        const xml = encodeXml(message, { pretty });
        const again = decodeMessage(utf8.encode(xml), { tokenize, mode: 'lenient' }).message;
        expect(again, `${file.name} pretty=${pretty}`).toEqual(message);
        expect(encodeXml(again, { pretty }), file.name).toBe(xml);
      }
    }
  });

  it('WBXML → model → WBXML → the same model, and the encoding is canonical', async () => {
    const tokenize = await tokenizer('js');
    for (const file of wbxmlPairs()) {
      const { message } = decodeMessage(file.bytes, { tokenize, mode: 'lenient' });
      for (const stringTable of [false, true]) {
        const wbxml = encodeWbxml(message, { stringTable });
        const again = decodeMessage(wbxml, { tokenize, mode: 'lenient' }).message;
        expect(again, `${file.name} stringTable=${stringTable}`).toEqual(message);
        expect(encodeWbxml(again, { stringTable }), file.name).toEqual(wbxml);
      }
    }
  });

  it('XML → model → WBXML → the same model (every XML file)', async () => {
    const tokenize = await tokenizer('js');
    for (const file of xmlCorpus()) {
      const { message } = decodeMessage(file.bytes, { tokenize, mode: 'lenient' });
      expect(decodeMessage(encodeWbxml(message), { tokenize, mode: 'lenient' }).message, file.name).toEqual(message);
    }
  });

  it('keeps Data exactly: white space, CDATA and raw elements', async () => {
    const tokenize = await tokenizer('js');
    const xml = '<SyncML><SyncBody><Replace><CmdID>1</CmdID><Item><Data>  a\n b <![CDATA[<x>]]]]></Data></Item><Item><Data> <Enabled/> </Data></Item></Replace></SyncBody></SyncML>';
    const { message } = decodeMessage(utf8.encode(xml), { tokenize, mode: 'lenient' });
    const items = (message.body.commands[0] as { items: Array<{ data: unknown }> }).items;
    expect(items[0]?.data).toBe('  a\n b <x>]]');
    expect(items[1]?.data).toEqual([' ', { name: 'Enabled', children: [] }, ' ']);
  });
});
