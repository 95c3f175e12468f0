/**
 * A scripted DM server for the client's session tests: an HttpClient that decodes each client
 * message with the real codec and answers with what a script returns (encoded in XML or WBXML).
 * The full reference server lives in server/omadm/ (built separately); this one only scripts.
 */
import type { Clock, HttpClient, HttpRequest, HttpResponse, TimerHandle } from '../../hal/types.ts';
import { contentTypeFor } from '../../agent/syncml/content-type.ts';
import type { MockHttpRequest, MockHttpResponse } from '../../hal/mock/net-http.ts';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import type { Command, Status, SyncHdr, SyncMLMessage, SyncmlEncoding } from '../../agent/syncml/model.ts';
import { dataText } from '../../agent/syncml/model.ts';
import { utf8Decode, utf8Encode } from '../../agent/util/bytes.ts';
import { engines } from './support.ts';

export interface Exchange {
  request: HttpRequest;
  bytes: Uint8Array;
  message: SyncMLMessage;
  encoding: SyncmlEncoding;
}

export type Reply = { message: SyncMLMessage; encoding?: SyncmlEncoding; headers?: Record<string, string> } | { raw: Uint8Array; status?: number };

export class ScriptedServer implements HttpClient {
  readonly log: Exchange[] = [];
  constructor(private readonly script: (exchange: Exchange, index: number) => Reply) {}

  /** The same script as a mock-network route (`network.route(origin, server.handler)`). */
  readonly handler = async (request: MockHttpRequest): Promise<MockHttpResponse> => {
    const response = await this.request({ method: request.method, url: request.url, headers: request.headers, body: request.body });
    return { status: response.status, headers: response.headers, body: await response.bytes() };
  };

  async request(request: HttpRequest): Promise<HttpResponse> {
    const bytes = request.body as Uint8Array;
    const decoded = decodeMessage(bytes, { tokenize: engines.syncmlTokenize, mode: 'lenient' });
    const exchange = { request, bytes, message: decoded.message, encoding: decoded.encoding };
    this.log.push(exchange);
    const reply = this.script(exchange, this.log.length - 1);
    let body: Uint8Array;
    let headers: Record<string, string> = {};
    let status = 200;
    if ('raw' in reply) {
      body = reply.raw;
      status = reply.status ?? 200;
    } else {
      const encoding = reply.encoding ?? 'xml';
      body = encoding === 'xml' ? utf8Encode(encodeXml(reply.message)) : encodeWbxml(reply.message);
      headers = { 'content-type': contentTypeFor(encoding), ...reply.headers };
    }
    return {
      status,
      headers,
      body: (async function* () {
        yield body;
      })(),
      bytes: async () => body,
      cancel: () => undefined,
    };
  }
}

export function serverHeader(client: SyncMLMessage, msgId: number, extra: Partial<SyncHdr> = {}): SyncHdr {
  const hdr = client.hdr as SyncHdr;
  return {
    verDTD: hdr.verDTD ?? '1.2',
    verProto: hdr.verProto ?? 'DM/1.2',
    sessionID: hdr.sessionID ?? '1',
    msgID: String(msgId),
    target: { locURI: hdr.source?.locURI ?? '' },
    source: { locURI: hdr.target?.locURI ?? '' },
    ...extra,
  };
}

/** Status 200 (or `code`) for each of the client's commands, and its header. */
export function statusesFor(client: SyncMLMessage, hdrCode = 212, chal?: Status['chal']): Status[] {
  const msgRef = client.hdr?.msgID ?? '1';
  const out: Status[] = [{ cmd: 'Status', msgRef, cmdRef: '0', refCmd: 'SyncHdr', data: String(hdrCode), ...(chal ? { chal } : {}) }];
  for (const c of client.body.commands) if (c.cmd !== 'Status' && c.cmd !== 'Results') out.push({ cmd: 'Status', msgRef, cmdRef: c.cmdID ?? '0', refCmd: c.cmd, data: '200' });
  return out;
}

export function text(value: unknown): string | undefined {
  return dataText(value as Parameters<typeof dataText>[0], utf8Decode);
}

export function message(hdr: SyncHdr, commands: Command[], final = true): SyncMLMessage {
  return { hdr, body: { commands, final } };
}

/** Retries in these tests wait no real time. */
export const clock: Pick<Clock, 'setTimer' | 'clearTimer'> = {
  setTimer: (callback) => setTimeout(callback, 0) as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};
