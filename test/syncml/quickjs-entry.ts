/**
 * Runs inside QuickJS (bundled for the neutral platform by quickjs.test.ts): the SyncML codec with
 * the JS tokenizer and no TextDecoder, so the portable text paths are the ones exercised. Takes
 * messages as base64 and returns, per message, what Node computes for the same input.
 */
import { decodeMessage, encodeWbxml, encodeWithinBudget, encodeXml } from '../../agent/syncml/index.ts';
import { fromBase64, toBase64 } from '../../agent/util/bytes.ts';
import { tokenizeSyncmlJs } from '../../wasm/src/syncml-js.ts';

export interface CodecOutcome {
  encoding: string;
  commands: number;
  xml: string;
  wbxml: string;
  budgeted: number;
  error?: string;
}

export function codecOutcome(bytes: Uint8Array): CodecOutcome {
  try {
    const { message, encoding } = decodeMessage(bytes, { tokenize: tokenizeSyncmlJs, mode: 'lenient' });
    const budget = encodeWithinBudget(message, 'wbxml', { maxMsgSize: 600 });
    return { encoding, commands: message.body.commands.length, xml: encodeXml(message, { pretty: true }), wbxml: toBase64(encodeWbxml(message, { stringTable: true })), budgeted: budget.included };
  } catch (error) {
    return { encoding: '', commands: 0, xml: '', wbxml: '', budgeted: 0, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

export function run(messages: string[]): { hasTextDecoder: boolean; outcomes: CodecOutcome[] } {
  return { hasTextDecoder: 'TextDecoder' in globalThis, outcomes: messages.map((m) => codecOutcome(fromBase64(m))) };
}
