/**
 * Incremental encoding under a MaxMsgSize budget: every message fits, it holds as many leading
 * commands as fit (one more would not), splitting a long response over several messages loses and
 * reorders nothing, Final only closes the last one, and a budget below the frame is a typed error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { createWbxmlEncoder, createXmlEncoder, encodeWbxml, encodeWithinBudget, encodeXml } from '../../agent/syncml/encoder.ts';
import { SyncmlModelError } from '../../agent/syncml/errors.ts';
import type { Command, SyncMLMessage } from '../../agent/syncml/model.ts';
import { fitBudget } from '../../agent/syncml/budget.ts';
import { loadSink, newSink, sinkLoaded } from '../../agent/syncml/sink-loader.ts';
import { message as arbitraryMessage } from './arbitrary.ts';
import { tokenizer } from './support.ts';

const utf8 = new TextEncoder();
const size = (encoded: string | Uint8Array) => (typeof encoded === 'string' ? utf8.encode(encoded).length : encoded.length);

function results(count: number): SyncMLMessage {
  const commands: Command[] = [];
  for (let i = 0; i < count; i++) {
    commands.push({ cmd: 'Results', cmdID: String(i + 2), msgRef: '1', cmdRef: '4', items: [{ source: { locURI: `./DevDetail/Ext/é${i}` }, meta: { format: 'chr' }, data: 'x'.repeat((i * 37) % 300) }] });
  }
  return {
    hdr: { verDTD: '1.2', verProto: 'DM/1.2', sessionID: '1', msgID: '2', target: { locURI: 'https://dm.example/' }, source: { locURI: 'IMEI:493005100592800' } },
    body: { commands: [{ cmd: 'Status', cmdID: '1', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', data: '200' }, ...commands], final: true },
  };
}

const variants = [
  { name: 'wbxml', encode: (m: SyncMLMessage, max: number) => encodeWithinBudget(m, 'wbxml', { maxMsgSize: max }), whole: (m: SyncMLMessage) => encodeWbxml(m) },
  { name: 'xml', encode: (m: SyncMLMessage, max: number) => encodeWithinBudget(m, 'xml', { maxMsgSize: max }), whole: (m: SyncMLMessage) => encodeXml(m) },
  { name: 'pretty xml', encode: (m: SyncMLMessage, max: number) => encodeWithinBudget(m, 'xml', { maxMsgSize: max, pretty: true }), whole: (m: SyncMLMessage) => encodeXml(m, { pretty: true }) },
] as const;

describe('encoding within MaxMsgSize', () => {
  for (const variant of variants) {
    it(`${variant.name}: fits, is maximal, and splitting loses nothing`, async () => {
      const tokenize = await tokenizer('js');
      const original = results(40);
      const frame = size(variant.whole({ ...original, body: { commands: [], final: true } }));
      // The largest command is under 700 bytes (pretty XML), the whole message several KiB.
      const whole = size(variant.whole(original));
      for (const budget of [frame + 700, frame + 900, frame + 2000, frame + 6000, whole]) {
        let remaining = original.body.commands;
        const received: Command[] = [];
        let messages = 0;
        while (remaining.length > 0) {
          const next: SyncMLMessage = { ...original, body: { commands: remaining, final: true } };
          const out = variant.encode(next, budget);
          expect(size(out.encoded)).toBeLessThanOrEqual(budget);
          expect(out.included, `budget ${budget} fits no command`).toBeGreaterThan(0);
          if (out.remaining.length > 0) {
            // One more command would not have fit (its size counted with the Final the encoder reserves).
            const oneMore = variant.whole({ ...next, body: { commands: remaining.slice(0, out.included + 1), final: true } });
            expect(size(oneMore)).toBeGreaterThan(budget);
          }
          const bytes = typeof out.encoded === 'string' ? utf8.encode(out.encoded) : out.encoded;
          const decoded = decodeMessage(bytes, { tokenize, mode: 'strict' }).message;
          expect(decoded.body.commands).toEqual(remaining.slice(0, out.included));
          expect(decoded.body.final === true).toBe(out.remaining.length === 0);
          expect(decoded.hdr).toEqual(original.hdr);
          received.push(...decoded.body.commands);
          remaining = out.remaining;
          messages++;
        }
        expect(received).toEqual(original.body.commands);
        expect(messages > 1).toBe(budget < whole);
      }
    });
  }

  it('a budget that cannot hold the header is a typed error; a command too large to fit is refused, nothing written', () => {
    const message = results(3);
    expect(() => encodeWithinBudget(message, 'wbxml', { maxMsgSize: 40 })).toThrow(SyncmlModelError);
    try {
      createXmlEncoder({ hdr: message.hdr as NonNullable<SyncMLMessage['hdr']> }, { maxMsgSize: 50 });
    } catch (error) {
      expect((error as SyncmlModelError).code).toBe('budget');
    }
    const encoder = createWbxmlEncoder({ hdr: message.hdr as NonNullable<SyncMLMessage['hdr']> }, { maxMsgSize: 200 });
    const before = encoder.sizeIfFinished();
    expect(encoder.add({ cmd: 'Replace', cmdID: '9', items: [{ data: 'y'.repeat(500) }] })).toBe(false);
    expect(encoder.sizeIfFinished()).toBe(before);
    expect(encoder.add({ cmd: 'Alert', cmdID: '9', data: '1201' })).toBe(true);
    expect(encoder.count).toBe(1);
  });

  it('random models and budgets: within budget, a prefix of the commands, maximal', async () => {
    const tokenize = await tokenizer('js');
    fc.assert(
      fc.property(arbitraryMessage({ binary: true }), fc.integer({ min: 0, max: 3000 }), fc.constantFrom('xml', 'wbxml'), (model, slack, encoding) => {
        const frameOnly = { ...model, body: { commands: [], final: true } };
        const floor = encoding === 'xml' ? size(encodeXml(frameOnly)) : size(encodeWbxml(frameOnly));
        const budget = floor + slack;
        const out = encoding === 'xml' ? encodeWithinBudget(model, 'xml', { maxMsgSize: budget }) : encodeWithinBudget(model, 'wbxml', { maxMsgSize: budget });
        expect(size(out.encoded)).toBeLessThanOrEqual(budget);
        expect(out.remaining).toEqual(model.body.commands.slice(out.included));
        const bytes = typeof out.encoded === 'string' ? utf8.encode(out.encoded) : out.encoded;
        if (encoding === 'wbxml') expect(decodeMessage(bytes, { tokenize, mode: 'lenient' }).message.body.commands).toEqual(model.body.commands.slice(0, out.included));
        if (out.remaining.length > 0) {
          const oneMore = { ...model, body: { commands: model.body.commands.slice(0, out.included + 1), final: true } };
          expect(encoding === 'xml' ? size(encodeXml(oneMore)) : size(encodeWbxml(oneMore))).toBeGreaterThan(budget);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the lazily loaded sinks (what a DM session encodes with)', () => {
  it('a sink is a typed error before its module is loaded, then encodes exactly what encodeWithinBudget does', async () => {
    const message = results(40);
    for (const encoding of ['wbxml', 'xml'] as const) {
      expect(sinkLoaded(encoding)).toBe(false);
      expect(() => newSink(encoding)).toThrow(SyncmlModelError);
      await loadSink(encoding);
      expect(sinkLoaded(encoding)).toBe(true);
      for (const maxMsgSize of [600, 2000, 1e6]) {
        const lazy = fitBudget(message, newSink(encoding), { maxMsgSize });
        const whole = encoding === 'xml' ? encodeWithinBudget(message, 'xml', { maxMsgSize }) : encodeWithinBudget(message, 'wbxml', { maxMsgSize });
        expect(lazy).toEqual(whole);
      }
    }
  });
});
