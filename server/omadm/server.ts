/**
 * The reference OMA DM 1.2 server: the session side of issue 14's test bed. One `DmServer` serves
 * DM sessions at `/dm` (the HTTP handler shape of ../http.ts, so it mounts on the mock network as
 * well as behind node:http) and FUMO packages at `/fumo/<name>` with Range (../artifacts.ts).
 *
 * Each session follows a script (./script.ts): every client message gets a Status for its SyncHdr
 * and each of its commands, plus the next step's commands; when the script is done the server
 * answers with statuses only, Final, and the client ends the session. Client authentication is
 * `syncml:auth-md5` (or none): a wrong or missing Cred gets 401 with a Chal carrying a fresh
 * NextNonce, a good one 212. Generic Alerts (1226) are answered 200 and journaled once each (a
 * resend after a lost acknowledgement is recognised). A `1.1-only` server answers a DM 1.2 message
 * with 505, for the client's fallback.
 */
import { serveMetadata, targetDelta } from '../metadata.ts';
import type { DeltaMaker, DeltaToolFormat } from '../deltas.ts';
import type { TargetDelta } from '../../agent/trust/target-deltas.ts';
import { randomBytes } from 'node:crypto';
import { authMd5, type Md5 } from '../../agent/omadm/crypto.ts';
import { contentTypeFor } from '../../agent/syncml/content-type.ts';
import { decodeMessage, type Tokenize } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import type { Alert, Command, Results, Status, SyncHdr, SyncMLMessage, SyncmlEncoding } from '../../agent/syncml/model.ts';
import { dataText } from '../../agent/syncml/model.ts';
import { type ServedFile, serveArtifact } from '../artifacts.ts';
import type { HttpHandler } from '../http.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, emptyAnswer, parseUrl } from '../wire.ts';
import { DmJournal } from './journal.ts';
import type { Step } from './script.ts';

export const DM_PATH = '/dm';
export const FUMO_PATH = '/fumo/';
/** OMA Download OTA descriptors of the packages, and where devices POST their install-notify status. */
export const DD_PATH = '/fumo-dd/';
export const INSTALL_NOTIFY_PATH = '/fumo-notify/';
/** Where package deltas are, relative to a package's URL. */
export const DELTAS_DIR = 'deltas/';
const AUTH_MD5 = 'syncml:auth-md5';
const MAX_BODY = 1024 * 1024;
const utf8 = new TextDecoder();
const text = (value: Parameters<typeof dataText>[0]): string | undefined => dataText(value, (b) => utf8.decode(b));

export interface ClientAccount {
  /** The client's auth name (its SyncHdr Source LocName) and secret. */
  name: string;
  secret: string;
}

export interface DmServerOptions {
  /** This server's id (DMAcc ServerID), name and secret: package #0 digests and DMAcc entries use them. */
  serverId: string;
  /** Accepted clients; none given: no client authentication. */
  clients?: ClientAccount[];
  /** Versions spoken: `1.1-only` answers DM 1.2 with 505. */
  versions?: '1.2' | '1.1-only';
  /** Answer in this encoding instead of the client's. */
  encoding?: SyncmlEncoding;
  /** Announced MaxMsgSize (the client splits its replies to it). */
  maxMsgSize?: number;
  /** FUMO packages by name (served at /fumo/<name>). */
  packages?: ServedFile[];
  /** Signed update metadata for the packages, served at /metadata/<file> (the FUMO client's default repository). */
  metadataDir?: string;
  /**
   * Package deltas (real xdelta3/bsdiff, ../deltas.ts), served at /fumo/deltas/<patch sha256>:
   * next to the packages, where a signed target's `custom.deltas` path `deltas/<sha256>` points.
   */
  deltas?: DeltaMaker;
  md5: Md5;
  tokenize: Tokenize;
  /** Random bytes for nonces (default node:crypto). */
  random?: (length: number) => Uint8Array;
}

interface Session {
  id: string;
  steps: Step[];
  next: number;
  msgId: number;
  /** The commands we sent, by `msgId/cmdId`, so Status and Results map back to them. */
  sent: Map<string, Command>;
  authenticated: boolean;
}

export class DmServer implements HttpHandler {
  readonly maxBodyBytes = MAX_BODY;
  readonly journal = new DmJournal();
  readonly #o: DmServerOptions;
  /** Scripts queued for the next sessions, in order; a session without one only answers statuses. */
  readonly #scripts: Step[][] = [];
  readonly #sessions = new Map<string, Session>();
  /** The nonce each client must use in its next auth-md5 Cred. */
  readonly #nonces = new Map<string, Uint8Array>();
  #url = 'http://127.0.0.1/dm';

  constructor(options: DmServerOptions) {
    this.#o = options;
    for (const client of options.clients ?? []) this.#nonces.set(client.name, new Uint8Array(0));
  }

  /** The address devices use (DMAcc AppAddr): the listener's origin + /dm. */
  setOrigin(origin: string): void {
    this.#url = origin.replace(/\/+$/, '') + DM_PATH;
  }

  get url(): string {
    return this.#url;
  }

  packageUrl(name: string): string {
    return this.#url.slice(0, -DM_PATH.length) + FUMO_PATH + encodeURIComponent(name);
  }

  /** The URL, version, size and SHA-256 of a served package (for `fumoDownload`'s facts). */
  packageFacts(name: string): { url: string; version: string; size: number; sha256: string } {
    const entry = this.#o.packages?.find((p) => p.name === name);
    if (!entry) throw new RangeError(`no package ${JSON.stringify(name)}`);
    return { url: this.packageUrl(name), version: entry.version, size: entry.size, sha256: entry.digest };
  }

  /**
   * The signed-metadata entry (`custom.deltas`) of a patch from `source` to the served package
   * `name`, made by the server's delta maker; undefined when no patch is worth offering.
   */
  async packageDelta(source: { version: string; path: string; size: number; sha256: string }, name: string, format?: DeltaToolFormat): Promise<TargetDelta | undefined> {
    const entry = this.#o.packages?.find((p) => p.name === name);
    if (!entry || !this.#o.deltas) return undefined;
    const target = { path: entry.path, size: entry.size, sha256: entry.digest };
    const made = format ? await this.#o.deltas.make(source, target, format) : await this.#o.deltas.delta(source, target);
    return made ? targetDelta(made, source, `${DELTAS_DIR}${made.sha256}`) : undefined;
  }

  /**
   * The URL of a download descriptor for a package (objectURI = the package, its size and an
   * installNotifyURI here). `overrides` lets a test serve a wrong size or a bad DDVersion.
   */
  descriptorUrl(name: string, overrides: { size?: number; ddVersion?: string } = {}): string {
    const query = [overrides.size !== undefined ? `size=${overrides.size}` : '', overrides.ddVersion !== undefined ? `v=${encodeURIComponent(overrides.ddVersion)}` : ''].filter((q) => q !== '').join('&');
    return this.#url.slice(0, -DM_PATH.length) + DD_PATH + encodeURIComponent(name) + (query ? `?${query}` : '');
  }

  #descriptor(name: string, query: string): ManagerResponse {
    const entry = this.#o.packages?.find((p) => p.name === name);
    if (!entry) return emptyAnswer(404);
    const params = new URLSearchParams(query);
    const origin = this.#url.slice(0, -DM_PATH.length);
    const xml = [
      '<media xmlns="http://www.openmobilealliance.org/xmlns/dd">',
      `<DDVersion>${params.get('v') ?? '1.0'}</DDVersion>`,
      `<name>${entry.name}</name>`,
      `<size>${params.get('size') ?? entry.size}</size>`,
      '<type>application/octet-stream</type>',
      `<objectURI>${this.packageUrl(name)}</objectURI>`,
      `<installNotifyURI>${origin}${INSTALL_NOTIFY_PATH}${encodeURIComponent(name)}</installNotifyURI>`,
      '<vendor>reference server</vendor>',
      '</media>',
    ].join('\n');
    this.journal.add({ kind: 'descriptor', name });
    return { status: 200, headers: { 'content-type': 'application/vnd.oma.dd+xml' }, body: new TextEncoder().encode(xml) };
  }

  /** Queues the script of the next session. */
  script(...steps: Step[]): void {
    this.#scripts.push(steps);
  }

  /** Drops scripts no session has taken yet (a test re-plans after the device lost power). */
  resetScripts(): void {
    this.#scripts.length = 0;
  }

  /** Sets the nonce a client must use next (e.g. one it does not know: the session starts with a 401). */
  setClientNonce(name: string, nonce: Uint8Array): void {
    this.#nonces.set(name, nonce);
  }

  async handle(request: ManagerRequest): Promise<ManagerResponse> {
    const { path } = parseUrl(request.url);
    if (path.startsWith(DD_PATH) && request.method === 'GET') {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      return this.#descriptor(decodeURIComponent(path.slice(DD_PATH.length)), query);
    }
    if (path.startsWith(INSTALL_NOTIFY_PATH) && request.method === 'POST') {
      this.journal.add({ kind: 'installNotify', name: decodeURIComponent(path.slice(INSTALL_NOTIFY_PATH.length)), status: new TextDecoder().decode(request.body).slice(0, 200) });
      return emptyAnswer(200);
    }
    if (path.startsWith(FUMO_PATH) && (request.method === 'GET' || request.method === 'HEAD')) {
      const name = decodeURIComponent(path.slice(FUMO_PATH.length));
      const patch = name.startsWith(DELTAS_DIR) ? this.#o.deltas?.byDigest(name.slice(DELTAS_DIR.length)) : undefined;
      if (patch) {
        this.journal.add({ kind: 'download', name, ...(request.headers.range ? { range: request.headers.range } : {}) });
        return serveArtifact({ name: 'delta', version: patch.format, path: patch.path, size: patch.size, digest: patch.sha256 }, request, () => undefined);
      }
      const entry = this.#o.packages?.find((p) => p.name === name);
      if (!entry) return emptyAnswer(404);
      this.journal.add({ kind: 'download', name, ...(request.headers.range ? { range: request.headers.range } : {}) });
      return serveArtifact(entry, request, () => undefined);
    }
    const metadata = /^\/metadata\/([^/]+)$/.exec(path);
    if (metadata && this.#o.metadataDir !== undefined) return serveMetadata(this.#o.metadataDir, request, metadata[1]!);
    if (path !== DM_PATH) return emptyAnswer(404);
    if (request.method !== 'POST') return emptyAnswer(405, { allow: 'POST' });
    let message: SyncMLMessage;
    let encoding: SyncmlEncoding;
    try {
      ({ message, encoding } = decodeMessage(request.body, { tokenize: this.#o.tokenize, mode: 'lenient' }));
    } catch (error) {
      this.journal.add({ kind: 'malformed', reason: error instanceof Error ? error.message.slice(0, 200) : 'undecodable' });
      throw new HttpError(400, 'badSyncml', 'not a SyncML message');
    }
    return this.#answer(this.#message(message), this.#o.encoding ?? encoding);
  }

  #answer(message: SyncMLMessage, encoding: SyncmlEncoding): ManagerResponse {
    const body = encoding === 'xml' ? new TextEncoder().encode(encodeXml(message)) : encodeWbxml(message);
    return { status: 200, headers: { 'content-type': contentTypeFor(encoding) }, body };
  }

  #message(client: SyncMLMessage): SyncMLMessage {
    const hdr = client.hdr ?? {};
    const sessionId = hdr.sessionID ?? '0';
    const version = hdr.verDTD ?? '1.2';
    const msgRef = hdr.msgID ?? '1';
    const deviceId = hdr.source?.locURI ?? '';
    const commands = client.body.commands;
    const alertCodes = commands.filter((c): c is Alert => c.cmd === 'Alert').map((c) => text(c.data) ?? '');
    const opening = alertCodes.includes('1200') || alertCodes.includes('1201');
    let session = this.#sessions.get(sessionId);
    if (!session || opening) {
      // Package 1 (again after a 401 or a fallback): the same session id keeps its script position.
      session ??= { id: sessionId, steps: this.#scripts.shift() ?? [], next: 0, msgId: 0, sent: new Map(), authenticated: false };
      this.#sessions.set(sessionId, session);
    }
    const reply = (code: number, extra: Command[] = [], chal?: Status['chal']): SyncMLMessage => {
      const header: SyncHdr = {
        verDTD: version,
        verProto: `DM/${version}`,
        sessionID: sessionId,
        msgID: String(++session!.msgId),
        target: { locURI: deviceId },
        source: { locURI: this.#url },
        ...(this.#o.maxMsgSize ? { meta: { maxMsgSize: String(this.#o.maxMsgSize) } } : {}),
      };
      const hdrStatus: Status = { cmd: 'Status', msgRef, cmdRef: '0', refCmd: 'SyncHdr', targetRefs: [hdr.target?.locURI ?? ''], sourceRefs: [deviceId], ...(chal ? { chal } : {}), data: String(code) };
      const all = [hdrStatus, ...extra];
      // CmdIDs are unique in a message, commands inside Atomic/Sequence included.
      let id = 0;
      const number = (c: Command): void => {
        c.cmdID = String(++id);
        if (c.cmd === 'Atomic' || c.cmd === 'Sequence') for (const inner of c.commands ?? []) number(inner);
      };
      all.forEach(number);
      for (const c of extra) if (c.cmd !== 'Status') session!.sent.set(`${header.msgID}/${c.cmdID}`, c);
      return { hdr: header, body: { commands: all, final: true } };
    };

    if (this.#o.versions === '1.1-only' && version !== '1.1') {
      this.journal.add({ kind: 'refused', sessionId, status: 505, version });
      return reply(505);
    }
    const auth = this.#authenticate(session, hdr, deviceId);
    if (auth) return reply(401, [], auth);

    const statuses: Command[] = [];
    for (const command of commands) {
      if (command.cmd === 'Status') this.#clientStatus(session, command, deviceId);
      else if (command.cmd === 'Results') this.#clientResults(session, command, deviceId);
      else {
        statuses.push({ cmd: 'Status', msgRef, cmdRef: command.cmdID ?? '0', refCmd: command.cmd, data: '200' });
        if (command.cmd === 'Alert') this.#clientAlert(command, sessionId, deviceId);
        else this.journal.add({ kind: 'command', sessionId, deviceId, cmd: command.cmd, uris: (('items' in command && command.items) || []).map((i) => i.source?.locURI ?? i.target?.locURI ?? '') });
      }
    }
    if (opening) this.journal.add({ kind: 'session', sessionId, deviceId, version, initiated: alertCodes.includes('1200') ? 'server' : 'client' });
    if (client.body.final !== true) {
      // The client's package goes on: ask for its next message, keep our script where it is.
      return reply(session.authenticated ? 212 : 200, [...statuses, { cmd: 'Alert', data: '1222', items: [{ target: { locURI: deviceId }, source: { locURI: this.#url } }] }]);
    }
    const step = session.steps[session.next];
    if (step) session.next++;
    else this.journal.add({ kind: 'end', sessionId, deviceId });
    return reply(session.authenticated ? 212 : 200, [...statuses, ...(step ?? []).map((c) => structuredClone(c))]);
  }

  /** undefined when the client may go on; else the Chal of a 401 (a fresh nonce, remembered). */
  #authenticate(session: Session, hdr: SyncHdr, deviceId: string): Status['chal'] | undefined {
    const clients = this.#o.clients ?? [];
    if (clients.length === 0 || session.authenticated) return undefined;
    const name = hdr.source?.locName ?? '';
    const client = clients.find((c) => c.name === name);
    const given = text(hdr.cred?.data);
    const nonce = this.#nonces.get(name) ?? new Uint8Array(0);
    if (client && hdr.cred?.meta?.type === AUTH_MD5 && given !== undefined && given === authMd5(this.#o.md5, client.name, client.secret, nonce)) {
      session.authenticated = true;
      this.journal.add({ kind: 'auth', sessionId: session.id, deviceId, status: 212 });
      return undefined;
    }
    const next = (this.#o.random ?? randomBytes)(16);
    this.#nonces.set(name, next);
    this.journal.add({ kind: 'auth', sessionId: session.id, deviceId, status: 401 });
    return { meta: { type: AUTH_MD5, format: 'b64', nextNonce: Buffer.from(next).toString('base64') } };
  }

  #clientStatus(session: Session, status: Status, deviceId: string): void {
    if (status.cmdRef === '0') return;
    const ours = session.sent.get(`${status.msgRef}/${status.cmdRef}`);
    this.journal.add({ kind: 'status', sessionId: session.id, deviceId, cmd: status.refCmd ?? ours?.cmd ?? '', code: Number(text(status.data)), uris: status.targetRefs ?? [] });
  }

  #clientResults(session: Session, results: Results, deviceId: string): void {
    for (const item of results.items ?? []) {
      this.journal.add({ kind: 'result', sessionId: session.id, deviceId, uri: item.source?.locURI ?? '', data: text(item.data) ?? '', ...(item.moreData ? { moreData: true } : {}) });
    }
  }

  #clientAlert(alert: Alert, sessionId: string, deviceId: string): void {
    const code = text(alert.data) ?? '';
    if (code !== '1226') return;
    for (const item of alert.items ?? []) {
      this.journal.genericAlert({
        sessionId,
        deviceId,
        ...(alert.correlator !== undefined ? { correlator: alert.correlator } : {}),
        source: item.source?.locURI ?? '',
        type: item.meta?.type ?? '',
        ...(item.meta?.mark !== undefined ? { mark: item.meta.mark } : {}),
        result: Number(text(item.data)),
      });
    }
  }
}
