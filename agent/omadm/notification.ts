/**
 * Package #0, the server's notification (DM_Notification 1.2), and the push router: every transport
 * (MQTT topic, UDP/WAP push, SMS) feeds bytes to `NotificationRouter.receive`, which verifies the
 * digest with the server's DMAcc credentials BEFORE acting on anything, refuses replays (remembered
 * in the store) and only then starts a server-initiated session.
 *
 * Layout (big-endian): digest 16 | version 10 bits | ui-mode 2 | initiator 1 | reserved 27 |
 * session id 16 | server-id length 8 | server-id | vendor body.
 */
import { getValue, type KeyValueStore, putValue } from '../store/index.ts';
import { timingSafeEqual, toHex, utf8Decode, utf8Encode } from '../util/bytes.ts';
import type { Md5 } from './crypto.ts';
import { md5Digest } from './crypto.ts';
import type { Logger } from '../log.ts';
import { type DmAccount, findAccount } from './csp/dmacc.ts';
import { OmaDmError } from './errors.ts';
import type { DmTree } from './tree.ts';

export const NOTIFICATION_CONTENT_TYPE = 'application/vnd.syncml.notification';
export const UDP_PUSH_PORT = 2948;
/** digest 16 + 40 bits of version/ui-mode/initiator/reserved + session id 2 + length 1. */
const HEADER = 16 + 5 + 2 + 1;

export type UiMode = 'unspecified' | 'background' | 'informative' | 'user';
const UI_MODES: readonly UiMode[] = ['unspecified', 'background', 'informative', 'user'];

export interface Notification {
  digest: Uint8Array;
  version: number;
  uiMode: UiMode;
  /** true: the server initiated it; false: the user asked the server to. */
  serverInitiated: boolean;
  sessionId: number;
  serverId: string;
  vendor: Uint8Array;
  /** Everything after the digest: what the digest covers. */
  trigger: Uint8Array;
}

/** Parses package #0; a malformed one is an OmaDmError('notification'), never a crash. */
export function parseNotification(bytes: Uint8Array): Notification {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER) throw new OmaDmError('notification', 'package #0 too short');
  const b = (i: number) => bytes[i] as number;
  const version = (b(16) << 2) | (b(17) >> 6);
  if (version !== 11 && version !== 12) throw new OmaDmError('notification', `package #0 version ${version} not supported`);
  const serverIdLength = b(23);
  if (bytes.length < HEADER + serverIdLength || serverIdLength === 0) throw new OmaDmError('notification', 'package #0 server id truncated');
  let serverId: string;
  try {
    serverId = utf8Decode(bytes.subarray(HEADER, HEADER + serverIdLength));
  } catch {
    throw new OmaDmError('notification', 'package #0 server id is not UTF-8');
  }
  return {
    digest: bytes.slice(0, 16),
    version,
    uiMode: UI_MODES[(b(17) >> 4) & 3] as UiMode,
    serverInitiated: ((b(17) >> 3) & 1) === 1,
    sessionId: (b(21) << 8) | b(22),
    serverId,
    vendor: bytes.slice(HEADER + serverIdLength),
    trigger: bytes.slice(16),
  };
}

/** The SessionID a server-initiated session uses: the notification's, upper-case hex without leading zeros. */
export function sessionIdText(sessionId: number): string {
  return sessionId.toString(16).toUpperCase();
}

/** Digest = H(B64(H(server-id:password)):nonce:B64(H(trigger))) with the server's credential. */
export function notificationDigest(md5: Md5, serverName: string, secret: string, nonce: Uint8Array, trigger: Uint8Array): Uint8Array {
  return md5Digest(md5, serverName, secret, nonce, trigger);
}

export interface RouterOptions {
  md5: Md5;
  store: KeyValueStore;
  /** The DMAcc account of a server id (undefined: unknown server, the notification is dropped). */
  account(serverId: string): DmAccount | undefined;
  /** Starts the server-initiated session (Alert 1200) for a verified notification. */
  startSession(notification: Notification, account: DmAccount): Promise<void>;
  /** How many verified notifications to remember against replays. */
  remember?: number;
  onRejected?(reason: 'malformed' | 'unknownServer' | 'digest' | 'replay', serverId?: string): void;
}

/**
 * The router of a DM client (./client.ts `receive`), built here rather than in the client: its
 * callbacks are code only package #0 needs, so they come with this lazy chunk.
 */
export function clientRouter(
  client: { readonly tree: DmTree; serverSession(notification: Notification, account?: DmAccount): Promise<unknown> },
  options: { md5: Md5; store: KeyValueStore; log?: Logger },
): NotificationRouter {
  return new NotificationRouter({
    md5: options.md5,
    store: options.store,
    account: (serverId) => findAccount(client.tree, serverId),
    startSession: async (notification, account) => void (await client.serverSession(notification, account)),
    onRejected: (reason, serverId) => options.log?.warn('package #0 rejected', { reason, ...(serverId === undefined ? {} : { serverId }) }),
  });
}

const SEEN_KEY = 'omadm/notify/seen';
const DEFAULT_REMEMBER = 64;
/** libdmclient's fallback when the server's nonce is not (yet) known. */
const DEFAULT_NONCE = new Uint8Array(0);

export class NotificationRouter {
  readonly #o: RouterOptions;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(options: RouterOptions) {
    this.#o = options;
  }

  /** Feeds one package #0 (from any transport). Resolves true when a session was started. */
  receive(bytes: Uint8Array): Promise<boolean> {
    const run = () => this.#receive(bytes);
    const result = this.#busy.then(run, run);
    this.#busy = result.catch(() => undefined);
    return result;
  }

  async #receive(bytes: Uint8Array): Promise<boolean> {
    let notification: Notification;
    try {
      notification = parseNotification(bytes);
    } catch (error) {
      this.#o.onRejected?.('malformed');
      if (error instanceof OmaDmError) return false;
      throw error;
    }
    const account = this.#o.account(notification.serverId);
    if (!account) {
      this.#o.onRejected?.('unknownServer', notification.serverId);
      return false;
    }
    if (!this.#verify(notification, account)) {
      this.#o.onRejected?.('digest', notification.serverId);
      return false;
    }
    const id = toHex(notification.digest);
    const seen = getValue<string[]>(this.#o.store, SEEN_KEY, (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')) ?? [];
    if (seen.includes(id)) {
      this.#o.onRejected?.('replay', notification.serverId);
      return false;
    }
    // Remembered before the session starts: a power cut during it must not let the copy in again.
    await putValue(this.#o.store, SEEN_KEY, [...seen, id].slice(-(this.#o.remember ?? DEFAULT_REMEMBER)));
    await this.#o.startSession(notification, account);
    return true;
  }

  #verify(notification: Notification, account: DmAccount): boolean {
    const { name, secret, nonce } = account.server;
    for (const candidate of [nonce ?? DEFAULT_NONCE, DEFAULT_NONCE]) {
      const expected = notificationDigest(this.#o.md5, name, secret, candidate, notification.trigger);
      if (timingSafeEqual(expected, notification.digest)) return true;
      if (candidate.length === 0) break;
    }
    return false;
  }
}

/** Builds package #0 (for servers and tests): the digest is computed over the trigger. */
export function buildNotification(md5: Md5, fields: { version?: number; uiMode?: UiMode; serverInitiated?: boolean; sessionId: number; serverId: string; vendor?: Uint8Array }, credential: { name: string; secret: string; nonce: Uint8Array }): Uint8Array {
  const serverId = utf8Encode(fields.serverId);
  const vendor = fields.vendor ?? new Uint8Array(0);
  const trigger = new Uint8Array(8 + serverId.length + vendor.length);
  const version = fields.version ?? 12;
  trigger[0] = version >> 2;
  trigger[1] = ((version & 3) << 6) | (UI_MODES.indexOf(fields.uiMode ?? 'background') << 4) | ((fields.serverInitiated ?? true) ? 8 : 0);
  trigger[5] = (fields.sessionId >> 8) & 0xff;
  trigger[6] = fields.sessionId & 0xff;
  trigger[7] = serverId.length;
  trigger.set(serverId, 8);
  trigger.set(vendor, 8 + serverId.length);
  const digest = notificationDigest(md5, credential.name, credential.secret, credential.nonce, trigger);
  const out = new Uint8Array(16 + trigger.length);
  out.set(digest, 0);
  out.set(trigger, 16);
  return out;
}
