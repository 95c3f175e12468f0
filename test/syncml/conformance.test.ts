/**
 * The model against the third-party corpus and the real libwbxml tools (Debian libwbxml2-utils):
 * - every WBXML file decodes to the element tree libwbxml decoded it to;
 * - our WBXML of every XML file, decoded by the real `wbxml2xml`, gives back the file's tree;
 * - the real `xml2wbxml -v 1.2` encoding of every XML file decodes with ours to the file's tree;
 * - strict mode decodes the well-formed files and names the byte offset of each defect.
 * Trees are compared in the normal form of xml-tree.ts, read by a parser independent of the codec.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { encodeWbxml } from '../../agent/syncml/encoder.ts';
import { canonicalModelTree } from './model-tree.ts';
import { CORPUS_PRESENT, libwbxml, MODEL_ENGINES, tokenizer, wbxmlPairs, xmlCorpus } from './support.ts';
import { canonicalTree } from './xml-tree.ts';

/**
 * Two rewrites libwbxml makes on purpose, undone on both sides before comparing: it turns LF into
 * CRLF in Data text (vCard line ends), and when it encodes an inline XML document inside Data as a
 * nested WBXML document it renames the sibling `Type` from `…+xml` to `…+wbxml` (and back when it
 * decodes). Our decode keeps the bytes and the Type as they are on the wire.
 */
function peerNormal(tree: string): string {
  return tree.replace(/\\r\\n/g, '\\n').replace(/^(\s*Type ".*)\+wbxml"$/gm, '$1+xml"');
}

const xmlFiles = xmlCorpus();
const pairs = wbxmlPairs();

/** Files whose defects strict mode must name (the rest of the corpus must decode strictly). */
const STRICT_DEFECTS: Record<string, { code: string; at: (bytes: Uint8Array, offset: number) => boolean }> = {};
const bareAmpersand = { code: 'badReference', at: (bytes: Uint8Array, offset: number) => bytes[offset] === 0x26 };
const elementInData = { code: 'unknownElement', at: (bytes: Uint8Array, offset: number) => bytes[offset - 1] === 0x3c };
for (const name of ['dm11/input-testalertconfirm', 'dm12/input-testalertconfirm', 'dm12/input-testalertmultiplechoice', 'dm12/input-testalertsinglechoice', 'dm12/input-testalerttextinput']) {
  STRICT_DEFECTS[`syncml-xml/aosp-dmengine/${name}.xml`] = bareAmpersand;
}
for (const name of [
  'windows-mdm-docs/admx-enable-allowappvclient-unescaped-element-in-data.xml',
  'buteo-syncml-ds/resp-ds12-chal-auth-md5-nextnonce.xml',
  'libwbxml-testsuite/syncml_with_ddf-001-ds12-inline-dmddf-mgmttree.xml',
  'libwbxml-testsuite/syncml-003-ds11-cred-basic-maxmsgsize-comments.xml',
]) {
  STRICT_DEFECTS[`syncml-xml/${name}`] = elementInData;
}

/** XML files the real xml2wbxml (libxml2 underneath) refuses: the bare `&` ones, and a CDATA it fails on. */
const XML2WBXML_REFUSES = new Set([
  ...Object.keys(STRICT_DEFECTS).filter((name) => STRICT_DEFECTS[name] === bareAmpersand),
  'syncml-xml/windows-mdm-docs/admx-enable-publishingallowserver2-cdata.xml',
]);

describe.skipIf(!CORPUS_PRESENT)('SyncML corpus', () => {
  it('has the files this suite expects', () => {
    expect(xmlFiles.length).toBe(62);
    expect(pairs.length).toBe(21);
    for (const name of Object.keys(STRICT_DEFECTS)) expect(xmlFiles.map((file) => file.name)).toContain(name);
  });

  for (const engine of MODEL_ENGINES) {
    describe(`${engine} engine`, () => {
      it('every WBXML file decodes to the tree libwbxml decoded it to (lenient and strict)', async () => {
        const tokenize = await tokenizer(engine);
        for (const file of pairs) {
          const expected = canonicalTree(file.xml);
          for (const mode of ['lenient', 'strict'] as const) {
            const { message, encoding } = decodeMessage(file.bytes, { tokenize, mode });
            expect(encoding, file.name).toBe('wbxml');
            expect(peerNormal(canonicalModelTree(message, tokenize)), `${file.name} (${mode})`).toBe(peerNormal(expected));
          }
        }
      });

      it('strict mode decodes the well-formed XML files and names the offset of each defect', async () => {
        const tokenize = await tokenizer(engine);
        let defects = 0;
        for (const file of xmlFiles) {
          const defect = STRICT_DEFECTS[file.name];
          if (!defect) {
            expect(() => decodeMessage(file.bytes, { tokenize, mode: 'strict' }), file.name).not.toThrow();
            continue;
          }
          defects++;
          let caught: { code?: string; offset?: number; message?: string } | undefined;
          try {
            decodeMessage(file.bytes, { tokenize, mode: 'strict' });
          } catch (error) {
            caught = error as typeof caught;
          }
          expect(caught?.code, file.name).toBe(defect.code);
          expect(caught?.message, file.name).toContain(`byte ${caught?.offset}`);
          expect(defect.at(file.bytes, caught?.offset as number), `${file.name} offset ${caught?.offset}`).toBe(true);
        }
        expect(defects).toBe(Object.keys(STRICT_DEFECTS).length);
      });

      it('real peer: the real xml2wbxml -v 1.2 encoding of every XML file decodes with ours to the same tree', async () => {
        const tokenize = await tokenizer(engine);
        const refused: string[] = [];
        for (const file of xmlFiles) {
          const peer = libwbxml('xml2wbxml', file.bytes, ['-v', '1.2']);
          if (!peer.ok) {
            refused.push(file.name);
            continue;
          }
          const { message } = decodeMessage(new Uint8Array(peer.output), { tokenize, mode: 'lenient' });
          expect(peerNormal(canonicalModelTree(message, tokenize)), file.name).toBe(peerNormal(canonicalTree(new TextDecoder().decode(file.bytes))));
        }
        expect(new Set(refused)).toEqual(XML2WBXML_REFUSES);
      });
    });
  }

  it('real peer: our WBXML of every XML file, decoded by the real wbxml2xml, gives back the same tree', async () => {
    const tokenize = await tokenizer('js');
    for (const file of xmlFiles) {
      const { message } = decodeMessage(file.bytes, { tokenize, mode: 'lenient' });
      for (const stringTable of [false, true]) {
        const peer = libwbxml('wbxml2xml', encodeWbxml(message, { stringTable }));
        if (!peer.ok) throw new Error(`${file.name}: wbxml2xml refused our encoding: ${peer.error}`);
        expect(peerNormal(canonicalTree(peer.output.toString('utf8'))), `${file.name} (string table ${stringTable})`).toBe(peerNormal(canonicalTree(new TextDecoder().decode(file.bytes))));
      }
    }
  });
});
