/**
 * A DM session decodes with ./agent/syncml/lazy-decode.ts: the builder's rare part (build-rare.ts)
 * is loaded only by a message that needs it. Every message must decode to exactly what
 * decodeMessage (which always has the rare part) gives, model or typed error; the messages of a
 * FUMO cycle must not need it; the ones that do must say so (NEEDS_RARE) rather than decode wrong.
 */
import { describe, expect, it } from 'vitest';
import { decodeWith, NEEDS_RARE } from '../../agent/syncml/build.ts';
import { decodeMessage, type DecodeOptions } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import { SyncmlModelError } from '../../agent/syncml/errors.ts';
import { decodeMessageLazily } from '../../agent/syncml/lazy-decode.ts';
import type { SyncMLMessage } from '../../agent/syncml/model.ts';
import { utf8Encode } from '../../agent/util/bytes.ts';
import { fumoDownload, fumoUpdate } from '../../server/omadm/script.ts';
import { MODEL_ENGINES, tokenizer, wbxmlPairs, xmlCorpus } from './support.ts';

type Outcome = { model: unknown } | { error: unknown };
const errorOf = (error: unknown) => (error instanceof SyncmlModelError ? [error.code, error.offset, error.message] : error);
function outcome(run: () => unknown): Outcome {
  try {
    return { model: run() };
  } catch (error) {
    return { error: errorOf(error) };
  }
}
async function outcomeAsync(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { model: await run() };
  } catch (error) {
    return { error: errorOf(error) };
  }
}

/** The server's messages of the bench's FUMO cycle (Exec Download, then Exec Update), as the reference server words them. */
function fumoMessages(): SyncMLMessage[] {
  const hdr = { verDTD: '1.2', verProto: 'DM/1.2', sessionID: '1A', msgID: '2', target: { locURI: 'IMEI:000000011234564' }, source: { locURI: 'https://dm.example/dm', locName: 'srv1' }, meta: { maxMsgSize: '16384' } };
  const status = { cmd: 'Status' as const, cmdID: '1', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', targetRefs: ['https://dm.example/dm'], sourceRefs: ['IMEI:000000011234564'], data: '212' };
  const number = (commands: SyncMLMessage['body']['commands']) => commands.map((c, i) => ({ ...c, cmdID: String(i + 2) }));
  const download = fumoDownload('1', 'https://dm.example/packages/fw-2.0.bin?a=1&b=2', 'corr-dl', 'Download', { version: '2.0.0', size: 65536, sha256: 'ab'.repeat(32) });
  return [
    { hdr, body: { commands: [status, ...number(download)], final: true } },
    { hdr, body: { commands: [status, ...number([fumoUpdate('1', 'corr-up')])], final: true } },
    { hdr, body: { commands: [status], final: true } },
  ];
}

describe('lazy decoding (a DM session)', () => {
  for (const engine of MODEL_ENGINES) {
    it(`${engine}: the FUMO cycle's messages, XML and WBXML, decode without the rare part, as decodeMessage decodes them`, async () => {
      const tokenize = await tokenizer(engine);
      for (const message of fumoMessages()) {
        for (const bytes of [utf8Encode(encodeXml(message)), encodeWbxml(message)]) {
          const options: DecodeOptions = { tokenize, mode: 'lenient' };
          expect(decodeWith(bytes, options, undefined)).toEqual(decodeMessage(bytes, options));
        }
      }
    });

    it(`${engine}: what needs the rare part says so without it, and decodes as decodeMessage once it is loaded`, async () => {
      const tokenize = await tokenizer(engine);
      const needing = [
        // An element outside the model (lenient: kept in `extra`; strict: refused at its offset).
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><Vendor>x</Vendor></SyncHdr><SyncBody><Final/></SyncBody></SyncML>',
        // Text around an element inside a leaf.
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.<b>2</b></VerDTD></SyncHdr><SyncBody/></SyncML>',
        // Not SyncML: an error with its offset.
        '<Other/>',
        // No SyncBody (strict: an error at an offset).
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr></SyncML>',
      ];
      for (const xml of needing) {
        for (const mode of ['lenient', 'strict'] as const) {
          const options: DecodeOptions = { tokenize, mode };
          const bytes = utf8Encode(xml);
          const direct = outcome(() => decodeWith(bytes, options, undefined));
          const expected = outcome(() => decodeMessage(bytes, options));
          // Without the rare part: NEEDS_RARE, or (no rare case met in this mode) the same outcome.
          if ('error' in direct && direct.error === NEEDS_RARE) expect(expected).not.toEqual(direct);
          else expect(direct).toEqual(expected);
          expect(await outcomeAsync(() => decodeMessageLazily(bytes, options))).toEqual(expected);
        }
      }
      expect(outcome(() => decodeWith(utf8Encode(needing[0]!), { tokenize, mode: 'lenient' }, undefined))).toEqual({ error: NEEDS_RARE });
      expect(outcome(() => decodeWith(utf8Encode(needing[2]!), { tokenize, mode: 'lenient' }, undefined))).toEqual({ error: NEEDS_RARE });
    });

    it(`${engine}: every corpus message decodes lazily to what decodeMessage gives, strict and lenient`, async () => {
      const tokenize = await tokenizer(engine);
      let plain = 0;
      let total = 0;
      for (const file of [...xmlCorpus(), ...wbxmlPairs()]) {
        for (const mode of ['lenient', 'strict'] as const) {
          const options: DecodeOptions = { tokenize, mode };
          const expected = outcome(() => decodeMessage(file.bytes, options));
          const direct = outcome(() => decodeWith(file.bytes, options, undefined));
          total++;
          if (!('error' in direct && direct.error === NEEDS_RARE)) {
            plain++;
            expect(direct, file.name).toEqual(expected);
          }
          expect(await outcomeAsync(() => decodeMessageLazily(file.bytes, options)), file.name).toEqual(expected);
        }
      }
      // Most real messages never need the rare part (the corpus holds deliberately odd ones too).
      if (total > 0) expect(plain).toBeGreaterThan(total / 2);
    });
  }
});
