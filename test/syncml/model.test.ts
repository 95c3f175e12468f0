/**
 * The typed model on concrete messages: fields land where the DM client will look for them,
 * the version comes from VerDTD (not the WBXML public id), strict mode names offsets, encoders
 * refuse what their format cannot carry, content types and encoding detection, nested WBXML.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_TYPE_WBXML, CONTENT_TYPE_XML, contentTypeFor, detectEncoding, encodingFromContentType } from '../../agent/syncml/content-type.ts';
import { decodeMessage, decodeNestedData } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import { SyncmlModelError } from '../../agent/syncml/errors.ts';
import { dataText, messageVersion, type Alert, type Results, type Status, type SyncMLMessage } from '../../agent/syncml/model.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { CORPUS_PRESENT, libwbxml, tokenizer, XML_DIR } from './support.ts';

const utf8 = new TextEncoder();
const tokenizeJs = () => tokenizer('js');

function caught(fn: () => unknown): SyncmlModelError {
  try {
    fn();
  } catch (error) {
    return error as SyncmlModelError;
  }
  throw new Error('expected a throw');
}

describe.skipIf(!CORPUS_PRESENT)('typed fields of real messages', () => {
  it('a server 401 with an MD5 challenge: header credentials, MaxMsgSize, Status Chal NextNonce', async () => {
    const bytes = readFileSync(join(XML_DIR, 'adups-fota-captures/simple_check-pkg2-server-401-chal-md5.xml'));
    const { message, encoding } = decodeMessage(new Uint8Array(bytes), { tokenize: await tokenizeJs(), mode: 'strict' });
    expect(encoding).toBe('xml');
    expect(messageVersion(message)).toBe('1.2');
    expect(message.hdr).toMatchObject({
      verProto: 'DM/1.2', sessionID: '0.5135936907591349', msgID: '1',
      target: { locURI: 'IMEI:008600251148888', locName: 'liu123' },
      cred: { meta: { format: 'b64', type: 'syncml:auth-md5' }, data: '+V8+IfZnON0vfEsMEi4a3Q==' },
      meta: { maxMsgSize: '32768', maxObjSize: '100000' },
    });
    const status = message.body.commands[0] as Status;
    expect(status).toMatchObject({ cmd: 'Status', cmdID: '0', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', data: '401', targetRefs: ['http://172.17.2.156:9081/test/fumo'] });
    expect(status.chal?.meta).toEqual({ format: 'b64', type: 'syncml:auth-md5', nextNonce: 'J11UJzR1JER2VlhrLkw5KQ==' });
    expect(message.body.commands.map((c) => c.cmd)).toEqual(['Status', 'Status', 'Status', 'Status']);
    expect(message.body.final).toBe(true);
  });

  it('a FUMO Generic Alert: Correlator, item Source, Meta Type/Format, Data (Data before Meta in the source)', async () => {
    const bytes = readFileSync(join(XML_DIR, 'adups-fota-captures/client_pkgs-pkg11-client-alert1201-1226-devicerequest-correlator.xml'));
    const { message } = decodeMessage(new Uint8Array(bytes), { tokenize: await tokenizeJs(), mode: 'strict' });
    const alert = message.body.commands[1] as Alert;
    expect(alert).toEqual({
      cmd: 'Alert', cmdID: '2', data: '1226', correlator: '{{Correlator}}',
      items: [{ source: { locURI: './FUMO/ICI2.0H_APTIV_0/DownloadAndUpdate' }, data: '200', meta: { format: 'chr', type: 'org.openmobilealliance.dm.firmwareupdate.devicerequest' } }],
    });
    // Canonical order puts Meta before Data.
    expect(encodeXml(message)).toContain('<Meta><Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">org.openmobilealliance.dm.firmwareupdate.devicerequest</Type></Meta><Data>200</Data>');
  });

  it('Results with a Get answer (OMA spec example 07)', async () => {
    const bytes = readFileSync(join(XML_DIR, 'oma-dm-1.2.1-spec-examples/07-twoStep-pkg3-client-results.xml'));
    const { message } = decodeMessage(new Uint8Array(bytes), { tokenize: await tokenizeJs(), mode: 'strict' });
    const results = message.body.commands.find((c): c is Results => c.cmd === 'Results');
    expect(results?.items?.length).toBeGreaterThan(0);
    expect(results?.cmdRef).toBeDefined();
  });
});

describe('version, encodings and content types', () => {
  const message = (verDTD: string): SyncMLMessage => ({ hdr: { verDTD, verProto: `DM/${verDTD}`, sessionID: '1', msgID: '1' }, body: { commands: [{ cmd: 'Alert', cmdID: '1', data: '1201' }], final: true } });

  it('VerDTD picks the WBXML public id and the XML namespace; the decoded version is VerDTD, not the public id', async () => {
    const tokenize = await tokenizeJs();
    const v11 = encodeWbxml(message('1.1'));
    const v12 = encodeWbxml(message('1.2'));
    expect([...v11.subarray(0, 4)]).toEqual([0x02, 0x9f, 0x53, 0x6a]); // 0x0FD3, UTF-8
    expect([...v12.subarray(0, 4)]).toEqual([0x02, 0xa4, 0x01, 0x6a]); // 0x1201, as xml2wbxml writes it
    expect(encodeXml(message('1.1'))).toContain('<SyncML xmlns="SYNCML:SYNCML1.1">');
    // A 1.1 message in a 1.2-labelled WBXML container is still 1.1.
    const relabelled = v11.slice();
    relabelled.set([0xa4, 0x01], 1);
    expect(messageVersion(decodeMessage(relabelled, { tokenize }).message)).toBe('1.1');
    expect(messageVersion({ hdr: { verProto: 'DM/1.2' }, body: { commands: [] } })).toBe('1.2');
  });

  it('detects the encoding from the bytes and from the content type', () => {
    expect(detectEncoding(encodeWbxml(message('1.2')))).toBe('wbxml');
    expect(detectEncoding(utf8.encode(encodeXml(message('1.2'))))).toBe('xml');
    expect(detectEncoding(utf8.encode('\ufeff  \n<SyncML/>'))).toBe('xml');
    expect(detectEncoding(utf8.encode('{"json": true}'))).toBeUndefined();
    expect(detectEncoding(new Uint8Array(0))).toBeUndefined();
    expect(contentTypeFor('xml')).toBe(CONTENT_TYPE_XML);
    expect(contentTypeFor('wbxml')).toBe('application/vnd.syncml.dm+wbxml');
    expect(encodingFromContentType(`${CONTENT_TYPE_WBXML}; charset=utf-8`)).toBe('wbxml');
    expect(encodingFromContentType('Application/VND.SyncML.DM+XML')).toBe('xml');
    expect(encodingFromContentType('application/vnd.syncml+wbxml')).toBe('wbxml');
    expect(encodingFromContentType('application/json')).toBeUndefined();
  });
});

describe('strict and lenient decoding', () => {
  const doc = (body: string) => utf8.encode(`<SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody>${body}</SyncBody></SyncML>`);

  it('an element the model has no place for: strict names its offset, lenient keeps it in extra and writes it back', async () => {
    const tokenize = await tokenizeJs();
    const bytes = doc('<Add><CmdID>1</CmdID><Vendor>x<Y/></Vendor><Item/></Add>');
    const error = caught(() => decodeMessage(bytes, { tokenize, mode: 'strict' }));
    expect(error).toBeInstanceOf(SyncmlModelError);
    expect(error.code).toBe('unknownElement');
    expect(utf8Decode(bytes.subarray(error.offset, error.offset + 6))).toBe('Vendor');
    expect(error.message).toContain(`<Vendor> is not allowed in <Add> (at byte ${error.offset})`);
    const { message } = decodeMessage(bytes, { tokenize, mode: 'lenient' });
    expect(message.body.commands[0]).toEqual({ cmd: 'Add', cmdID: '1', items: [{}], extra: [{ name: 'Vendor', children: ['x', { name: 'Y', children: [] }] }] });
    expect(encodeXml(message)).toContain('<Add><CmdID>1</CmdID><Item/><Vendor>x<Y/></Vendor></Add>');
    expect(decodeMessage(encodeWbxml(message), { tokenize, mode: 'lenient' }).message).toEqual(message);
  });

  it('a known element in the wrong place and text where elements belong are refused in strict mode', async () => {
    const tokenize = await tokenizeJs();
    const misplaced = doc('<Add><LocURI>./x</LocURI></Add>');
    const wrong = caught(() => decodeMessage(misplaced, { tokenize, mode: 'strict' }));
    expect(wrong.code).toBe('unknownElement');
    expect(utf8Decode(misplaced.subarray(wrong.offset, wrong.offset + 6))).toBe('LocURI');
    const text = doc('<Add>stray<CmdID>1</CmdID></Add>');
    const stray = caught(() => decodeMessage(text, { tokenize, mode: 'strict' }));
    expect(stray.code).toBe('unexpectedText');
    expect(utf8Decode(text.subarray(stray.offset, stray.offset + 5))).toBe('stray');
    expect(decodeMessage(text, { tokenize, mode: 'lenient' }).message.body.commands[0]).toEqual({ cmd: 'Add', cmdID: '1', extra: ['stray'] });
  });

  it('a root that is not SyncML, and a message without SyncBody', async () => {
    const tokenize = await tokenizeJs();
    expect(caught(() => decodeMessage(utf8.encode('<Other/>'), { tokenize })).code).toBe('badStructure');
    expect(caught(() => decodeMessage(utf8.encode('<SyncML><SyncHdr/></SyncML>'), { tokenize })).code).toBe('badStructure');
    expect(decodeMessage(utf8.encode('<SyncML><SyncHdr/></SyncML>'), { tokenize, mode: 'lenient' }).message.body).toEqual({ commands: [] });
  });

  it('leaf text is trimmed, Data is kept exactly; entities and CDATA resolved once', async () => {
    const tokenize = await tokenizeJs();
    const { message } = decodeMessage(doc('<Replace><CmdID> 7\n</CmdID><Item><Target><LocURI>\n ./a&amp;b </LocURI></Target><Data> x &lt; <![CDATA[y]]> </Data></Item></Replace>'), { tokenize, mode: 'strict' });
    expect(message.body.commands[0]).toEqual({ cmd: 'Replace', cmdID: '7', items: [{ target: { locURI: './a&b' }, data: ' x < y ' }] });
  });
});

describe('XML references', () => {
  it('resolves the five entities and numeric references; lenient keeps a bare or invalid one as written', async () => {
    const tokenize = await tokenizeJs();
    const data = (text: string) => (decodeMessage(utf8.encode(`<SyncML><SyncBody><Alert><Data>${text}</Data></Alert></SyncBody></SyncML>`), { tokenize, mode: 'lenient' }).message.body.commands[0] as Alert).data;
    expect(data('&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;')).toBe('<>&"\'AB😀');
    expect(data('a & b &bogus; &#1; &#xD800; &#;')).toBe('a & b &bogus; &#1; &#xD800; &#;');
  });
});

describe('encoders refuse what their format cannot carry', () => {
  it('U+0000 in WBXML text, control characters in XML text; binary Data goes to XML as text or base64', () => {
    const withText = (data: string | Uint8Array): SyncMLMessage => ({ body: { commands: [{ cmd: 'Alert', cmdID: '1', data }] } });
    expect(caught(() => encodeWbxml(withText('a\u0000b'))).code).toBe('badInput');
    expect(caught(() => encodeXml(withText('a\u0001b'))).code).toBe('badInput');
    expect(encodeXml(withText('tab\tcr\r'))).toContain('<Data>tab\tcr&#13;</Data>');
    expect(encodeXml(withText(utf8.encode('héllo')))).toContain('<Data>héllo</Data>');
    expect(encodeXml(withText(new Uint8Array([0, 255, 1])))).toContain('<Data>AP8B</Data>');
    expect(caught(() => encodeXml({ body: { commands: [{ cmd: 'Bogus' } as never] } })).code).toBe('badInput');
  });
});

describe('dataText', () => {
  it('reads text, bytes and raw elements as text', () => {
    expect(dataText(undefined, utf8Decode)).toBeUndefined();
    expect(dataText('a', utf8Decode)).toBe('a');
    expect(dataText(utf8.encode('é'), utf8Decode)).toBe('é');
    expect(dataText([' ', { name: 'A', children: ['x', { name: 'B', children: ['y'] }] }], utf8Decode)).toBe(' xy');
  });
});

describe.skipIf(!CORPUS_PRESENT)('nested WBXML documents in Data', () => {
  it('a DevInf that the real xml2wbxml nests as OPAQUE decodes with DevInf names', async () => {
    const tokenize = await tokenizeJs();
    const peer = libwbxml('xml2wbxml', readFileSync(join(XML_DIR, 'buteo-syncml-ds/resp-ds12-chal-auth-md5-nextnonce.xml')), ['-v', '1.2']);
    if (!peer.ok) throw new Error(peer.error);
    const { message } = decodeMessage(new Uint8Array(peer.output), { tokenize, mode: 'strict' });
    const results = message.body.commands.find((c): c is Results => c.cmd === 'Results');
    const data = results?.items?.[0]?.data;
    expect(data).toBeInstanceOf(Uint8Array);
    expect(decodeNestedData(data, { tokenize })).toEqual({ name: 'DevInf', children: [{ name: 'SupportLargeObjs', children: [] }] });
    expect(decodeNestedData('text', { tokenize })).toBeUndefined();
  });
});
