/**
 * The DM transport client: one management session over HTTP(S) through the HAL. Sends package 1
 * (Alert 1200 after a notification, 1201 otherwise), authenticates (401/407/212 with Chal), runs the
 * server's commands through the DPU, answers every message with a SyncHdr Status plus the DPU's
 * Status/Results split under the server's MaxMsgSize, follows RespURI, handles Alert 1222 / 1223 and
 * falls back to DM 1.1.2 when the server cannot speak 1.2 (505 or an unparseable reply).
 */
import { checkManagerUrl } from '../trust/transport-policy.ts';
import type { Clock, HttpClient } from '../../hal/types.ts';
import { contentTypeFor } from '../syncml/content-type.ts';
import type { Decoded, Tokenize } from '../syncml/decode.ts';
import { decodeMessageLazily } from '../syncml/lazy-decode.ts';
import type { Alert, Command, Status, SyncMLMessage, SyncmlEncoding } from '../syncml/model.ts';
import { dataText } from '../syncml/model.ts';
import { loadSink } from '../syncml/sink-loader.ts';
import { toBase64, utf8Decode } from '../util/bytes.ts';
import { loadOnce } from '../util/load-once.ts';
import { sleep } from '../util/sleep.ts';
import type { UserInteraction } from './alerts.ts';
import { acceptChal, AuthMeta, clientCred } from './auth.ts';
import { CommandProcessor } from './commands.ts';
import type { Md5 } from './crypto.ts';
import type { CspRegistry } from './csp/api.ts';
import type { AuthType, DmAccount } from './csp/dmacc.ts';
import { OmaDmError } from './errors.ts';
import { AlertCode, type DmVersion, type Encoded, encodeMessage, header, headerStatus, packageOne } from './messages.ts';
import type { DmTree } from './tree.ts';

/** What every session needs from the platform: HTTP, timers, randomness, MD5 and the tokenizer. */
export interface DmPlatform {
  http: HttpClient;
  clock: Pick<Clock, 'setTimer' | 'clearTimer'>;
  random: (length: number) => Uint8Array;
  md5: Md5;
  tokenize: Tokenize;
}

export interface SessionOptions extends DmPlatform {
  /** This account's server may be `http://` (`omadm.accounts[].allowInsecure`); every such connection goes to `warn`. */
  allowInsecure?: boolean;
  warn?: (line: string) => void;
  tree: DmTree;
  csps: CspRegistry;
  ui: UserInteraction;
  account: DmAccount;
  devId: string;
  /** Encoding of package 1 (later messages answer in the server's). Default xml. */
  encoding?: SyncmlEncoding;
  /** Our MaxMsgSize (what we accept), default 16 KiB; the server's applies to what we send. */
  maxMsgSize?: number;
  maxObjSize?: number;
  /** Resend as DM 1.1.2 when the server cannot speak 1.2. Default true. */
  fallback?: boolean;
  /** Transport retries per message and their interval (the seed's configurable retry). */
  retries?: number;
  retryIntervalMs?: number;
  timeoutMs?: number;
  /** Require the server to authenticate (its Cred or HMAC) before running its commands. */
  authenticateServer?: boolean;
  /** Largest server message accepted (bytes). */
  maxReplyBytes?: number;
}

export type SessionStart = { kind: 'server'; sessionId: string } | { kind: 'client'; sessionId: string; commands?: Command[] };

export interface SessionSummary {
  version: DmVersion;
  messages: number;
  aborted: boolean;
  /** Our own commands (beyond package 1's alert and DevInfo) the server answered with 2xx. */
  acknowledged: Command[];
  /** Status codes the server gave our commands, by name, in order. */
  statuses: { cmd: string; code: number }[];
}

/** A `const enum`, inlined where used: no module variables (each one a name, an atom, in a QuickJS heap). */
const enum Limit {
  messages = 500,
  authAttempts = 3,
  nonceBytes = 16,
}

/** HMAC and the server's credentials (auth-rare.ts) are a lazy chunk: most sessions need neither. */
const loadRareAuth = loadOnce(() => import('./auth-rare.ts'));

interface Sent {
  msgId: number;
  commands: Map<string, Command>;
}

interface Reply {
  body: Uint8Array;
  hmac?: string;
}

/**
 * The commands of a sent message a Status can report on (recordStatuses skips our own Status and
 * Results), or undefined when there are none: a session does not keep its past answers.
 */
function statusable(commands: Map<string, Command>): Map<string, Command> | undefined {
  let kept: Map<string, Command> | undefined;
  for (const [id, command] of commands) {
    if (command.cmd === 'Status' || command.cmd === 'Results') continue;
    (kept ??= new Map()).set(id, command);
  }
  return kept;
}

export class DmSession {
  // Declared and set in the constructor, not class fields (`#` ones included): in QuickJS a class's
  // field initializer is one more function, and every method reaching a `#field` one more closure variable.
  private declare readonly o: SessionOptions;
  private declare readonly processor: CommandProcessor;
  private declare version: DmVersion;
  private declare authType: AuthType;
  private declare clientAuthenticated: boolean;
  private declare serverAuthenticated: boolean;
  private declare url: string;
  private declare encoding: SyncmlEncoding;
  private declare serverMaxMsgSize: number;
  private declare msgId: number;

  constructor(options: SessionOptions) {
    this.o = options;
    this.version = '1.2';
    this.authType = options.account.authPref;
    this.clientAuthenticated = false;
    this.serverAuthenticated = false;
    this.url = options.account.addr;
    this.encoding = options.encoding || 'xml';
    this.serverMaxMsgSize = options.maxMsgSize || 16 * 1024;
    this.msgId = 0;
    this.processor = new CommandProcessor({ tree: options.tree, csps: options.csps, serverId: options.account.serverId, ui: options.ui, ...(options.maxObjSize ? { maxObjSize: options.maxObjSize } : {}) });
  }

  async run(start: SessionStart): Promise<SessionSummary> {
    // One method, not run() around a runOnce(): each method is one more function in a QuickJS heap.
    try {
      const extra = start.kind === 'client' ? (start.commands ?? []) : [];
      const summary: SessionSummary = { version: '1.2', messages: 0, aborted: false, acknowledged: [], statuses: [] };
      let outgoing: Command[] = packageOne(this.o.tree, start.kind, extra);
      // Our package ends with Final unless the server's package goes on (we then ask with 1222).
      let final = true;
      let authAttempts = 0;
      let sent: Sent[] = [];
      for (let exchange = 0; exchange < Limit.messages; exchange++) {
        await loadSink(this.encoding);
        // The header goes straight into the encoder: it is not kept while the reply is processed.
        let encoded: Encoded | undefined = await encodeMessage(header({
          version: this.version,
          sessionId: start.sessionId,
          msgId: ++this.msgId,
          target: this.url,
          source: this.o.devId,
          sourceName: this.o.account.client.name,
          ...(this.clientAuthenticated ? {} : { cred: clientCred(this.o.md5, this.o.account, this.authType) }),
          maxMsgSize: this.o.maxMsgSize || 16 * 1024,
          ...(this.o.maxObjSize ? { maxObjSize: this.o.maxObjSize } : {}),
        }), outgoing, this.encoding, this.serverMaxMsgSize, final);
        const awaited = statusable(encoded.sent);
        if (awaited) sent.push({ msgId: this.msgId, commands: awaited });
        const carry = encoded.remaining;
        // What this message was built from is not needed again (every path sets the next one's), and
        // its bytes only until the reply: neither stays in the heap while the reply is decoded and run.
        outgoing = [];
        summary.messages++;
        let reply: Reply | undefined = await this.exchange(encoded.bytes);
        encoded = undefined;
        let decoded: Decoded | undefined;
        try {
          decoded = await decodeMessageLazily(reply.body, { tokenize: this.o.tokenize, mode: 'lenient' });
        } catch {
          decoded = undefined;
        }
        let message = decoded?.message;
        let hdrStatus: Status | undefined;
        for (const c of message?.body.commands ?? []) {
          if (c.cmd !== 'Status' || c.cmdRef !== '0') continue;
          hdrStatus = c;
          break;
        }
        const code = Number(dataText(hdrStatus?.data, utf8Decode));
        if ((!message || code === 505) && this.version === '1.2' && this.o.fallback !== false && this.msgId <= authAttempts + 1) {
          // The server cannot speak 1.2: package 1 again, as DM 1.1.2.
          this.version = '1.1';
          summary.version = '1.1';
          outgoing = packageOne(this.o.tree, start.kind, extra);
          sent = [];
          this.msgId = 0;
          continue;
        }
        if (!message || !decoded) throw new OmaDmError('protocol', 'the server\'s reply is not a SyncML message');
        if (code === 505) throw new OmaDmError('protocol', `the server does not support DM ${this.version}`);
        this.encoding = decoded.encoding;
        if (message.hdr?.respURI) this.url = message.hdr.respURI;
        const theirMax = Number(message.hdr?.meta?.maxMsgSize);
        if (Number.isInteger(theirMax) && theirMax > 0) this.serverMaxMsgSize = theirMax;

        if (code === 401 || code === 407) {
          if (++authAttempts >= Limit.authAttempts) throw new OmaDmError('auth', `the server refused our credentials (${code})`);
          this.authType = (await acceptChal(this.o.tree, this.o.account, hdrStatus?.chal)) ?? this.authType;
          this.clientAuthenticated = false;
          outgoing = packageOne(this.o.tree, start.kind, extra);
          sent = [];
          continue;
        }
        if (hdrStatus?.chal) await acceptChal(this.o.tree, this.o.account, hdrStatus.chal);
        if (code === 212) this.clientAuthenticated = true;
        this.recordStatuses(message, sent, summary);

        // One pass over the server's commands, not a callback per filter (each one more function in a
        // QuickJS heap): its requests for our next message (1222), the DPU's work, an abort (1223).
        const next: Alert[] = [];
        const work: Command[] = [];
        let abort = false;
        for (const c of message.body.commands) {
          if (c.cmd === 'Status' || c.cmd === 'Results') continue;
          const alert = c.cmd === 'Alert' ? dataText(c.data, utf8Decode) : undefined;
          if (alert === AlertCode.abort) abort = true;
          if (alert === AlertCode.nextMessage) next.push(c as Alert);
          else work.push(c);
        }
        if (abort) {
          summary.aborted = true;
          return summary;
        }
        const replies: Command[] = [];
        if (this.o.authenticateServer && !this.serverAuthenticated) {
          const rare = await loadRareAuth();
          if (!rare.serverAuthenticated(this.o.md5, this.o.account, this.authType, message, reply.body, reply.hmac)) {
            // Not who it claims: challenge it and run none of its commands.
            const nonce = this.o.random(Limit.nonceBytes);
            await rare.challengeServer(this.o.tree, this.o.account, nonce);
            outgoing = [headerStatus(message, 401, { meta: { type: AuthMeta.md5, format: 'b64', nextNonce: toBase64(nonce) } })];
            if (++authAttempts >= Limit.authAttempts) throw new OmaDmError('auth', 'the server did not authenticate');
            continue;
          }
          this.serverAuthenticated = true;
          replies.push(headerStatus(message, 212));
        } else replies.push(headerStatus(message, 200));

        const msgRef = message.hdr?.msgID ?? '0';
        for (const alert of next) replies.push({ cmd: 'Status', msgRef, cmdRef: alert.cmdID ?? '0', refCmd: 'Alert', data: '200' });
        final = message.body.final === true;
        // The DPU needs only `work`: the reply's bytes and the rest of its model (header, the
        // server's Status list) are released before it runs (it is where a session's heap peaks).
        reply = undefined;
        decoded = undefined;
        message = undefined;
        hdrStatus = undefined;
        replies.push(...(await this.processor.run(work, msgRef)));
        if (!final) {
          // The server's package goes on: answer and ask for its next message.
          replies.push({ cmd: 'Alert', data: AlertCode.nextMessage, items: [{ target: { locURI: this.url }, source: { locURI: this.o.devId } }] } as Alert);
        } else if (work.length === 0 && carry.length === 0 && next.length === 0) {
          return summary;
        }
        outgoing = [...replies, ...carry];
      }
      throw new OmaDmError('protocol', `session exceeded ${Limit.messages} messages`);
    } finally {
      // A large object the server never finished is dropped with the session (its stream aborted).
      try {
        await this.processor.close();
      } catch {
        // the session's outcome stands
      }
    }
  }

  private recordStatuses(message: SyncMLMessage, sent: readonly Sent[], summary: SessionSummary): void {
    for (const status of message.body.commands) {
      if (status.cmd !== 'Status' || status.cmdRef === '0') continue;
      let ours: Command | undefined;
      for (const s of sent) {
        if (String(s.msgId) !== status.msgRef) continue;
        ours = s.commands.get(status.cmdRef ?? '');
        break;
      }
      if (!ours || ours.cmd === 'Status' || ours.cmd === 'Results') continue;
      const code = Number(dataText(status.data, utf8Decode));
      summary.statuses.push({ cmd: ours.cmd, code });
      if (code >= 200 && code < 300 && ours.cmd === 'Alert') summary.acknowledged.push(ours);
    }
  }

  /** POSTs one message, retrying transport failures; returns the reply's bytes and HMAC header. */
  private async exchange(body: Uint8Array): Promise<Reply> {
    const retries = this.o.retries ?? 2;
    const headers: Record<string, string> = { 'content-type': contentTypeFor(this.encoding), accept: contentTypeFor(this.encoding) };
    if (this.authType === 'HMAC') headers[AuthMeta.hmacHeader] = (await loadRareAuth()).clientHmac(this.o.md5, this.o.account, body);
    // Before every message: the URL may have changed since the config was read (RespURI, a DMAcc
    // Replace by the server), and gets the same transport policy as the configured one.
    checkManagerUrl(this.url, { allowInsecure: this.o.allowInsecure === true }, this.o.warn ?? (() => undefined));
    let lastError = 'no attempt';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(this.o.clock, this.o.retryIntervalMs ?? 1000);
      try {
        const response = await this.o.http.request({ method: 'POST', url: this.url, headers, body, timeoutMs: this.o.timeoutMs ?? 30_000 });
        if (response.status !== 200) {
          response.cancel();
          lastError = `HTTP ${response.status}`;
          if (response.status >= 400 && response.status < 500) break;
          continue;
        }
        const bytes = await response.bytes(this.o.maxReplyBytes ?? 1024 * 1024);
        const hmac = response.headers[AuthMeta.hmacHeader];
        return hmac === undefined ? { body: bytes } : { body: bytes, hmac };
      } catch (error) {
        lastError = error instanceof Error ? error.name : 'error';
      }
    }
    throw new OmaDmError('transport', `DM server unreachable after ${retries + 1} attempts (${lastError})`);
  }
}
