/**
 * The OMA DM client assembled: DM tree + CSPs (DevInfo, DevDetail, DMAcc, FUMO, custom ones), the
 * push router for package #0, sessions, and the delivery of FUMO's Generic Alerts in new
 * client-initiated sessions until the server acknowledges them. One session at a time.
 */
import type { Logger } from '../log.ts';
import type { KeyValueStore } from '../store/index.ts';
import type { Command } from '../syncml/model.ts';
import { policyInteraction, type UserInteraction, type UserPolicy } from './alerts.ts';
import { type Csp, CspRegistry, seedTree } from './csp/api.ts';
import { type DeviceFacts, devDetailCsp, devInfoCsp } from './csp/devinfo.ts';
import { type DmAccount, type DmAccountConfig, dmAccCsp, findAccount } from './csp/dmacc.ts';
import { OmaDmError } from './errors.ts';
import { FumoManager, type FumoPipeline, type GenericAlert, genericAlertCommand } from './fumo/manager.ts';
import type { PkgDataStore } from './fumo/pkgdata.ts';
import type { Notification, NotificationRouter } from './notification.ts';
import type { PushRouter } from './package-zero.ts';
import { type DmPlatform, DmSession, type SessionOptions, type SessionSummary } from './session.ts';
import { DmTree } from './tree.ts';
import { loadOnce } from '../util/load-once.ts';

/** Package #0's parsing and verification (notification.ts) is a lazy chunk: a device that is never pushed to never loads it. */
const loadNotification = loadOnce(() => import('./notification.ts'));

/** The session settings come as the session takes them (documented on SessionOptions). */
export interface OmaDmConfig extends Pick<SessionOptions, 'encoding' | 'maxMsgSize' | 'maxObjSize' | 'fallback' | 'retries' | 'retryIntervalMs' | 'timeoutMs' | 'authenticateServer'> {
  accounts: DmAccountConfig[];
  /** Headless answer to user interaction alerts when no UI is given. Default `accept`. */
  userPolicy?: UserPolicy;
  fumoInstances?: string[];
}

export interface OmaDmClientOptions extends DmPlatform {
  store: KeyValueStore;
  config: OmaDmConfig;
  facts: DeviceFacts;
  fumoPipeline: FumoPipeline;
  ui?: UserInteraction;
  /** Where inline FUMO packages (Update/PkgData) go; without it a Replace of PkgData is 406. */
  pkgData?: PkgDataStore;
  /** Custom CSPs (see README: the CSP API). */
  csps?: Csp[];
  log?: Logger;
}

export class OmaDmClient implements PushRouter {
  // Declared and set in the constructor, not class fields (`#` ones included): in QuickJS a class's
  // field initializer is one more function, and every method reaching a `#field` one more closure variable.
  declare readonly tree: DmTree;
  declare readonly csps: CspRegistry;
  declare readonly fumo: FumoManager;
  /** Package #0 from any transport: the client itself (`receive` below), not a wrapper object. */
  declare readonly router: PushRouter;
  private declare readonly o: OmaDmClientOptions;
  /** The NotificationRouter, created with the first package #0 (./notification.ts `clientRouter`). */
  private declare notifications: NotificationRouter | undefined;
  private declare busyQueue: Promise<unknown>;
  private declare sessions: number;
  private declare running: number;

  private constructor(options: OmaDmClientOptions, tree: DmTree, csps: CspRegistry, fumo: FumoManager) {
    this.o = options;
    this.tree = tree;
    this.csps = csps;
    this.fumo = fumo;
    this.router = this;
    this.busyQueue = Promise.resolve();
    this.sessions = 0;
    this.running = 0;
  }

  async receive(bytes: Uint8Array): Promise<boolean> {
    const { clientRouter } = await loadNotification();
    this.notifications ??= clientRouter(this, this.o);
    return this.notifications.receive(bytes);
  }

  static async open(options: OmaDmClientOptions): Promise<OmaDmClient> {
    if (options.config.accounts.length === 0) throw new OmaDmError('config', 'omadm needs at least one DMAcc account');
    const fumo = new FumoManager({ store: options.store, pipeline: options.fumoPipeline, ...(options.config.fumoInstances ? { instances: options.config.fumoInstances } : {}), ...(options.pkgData ? { pkgData: options.pkgData } : {}) });
    const csps = new CspRegistry();
    for (const csp of [devInfoCsp(options.facts), devDetailCsp(options.facts), dmAccCsp(options.config.accounts), fumo.csp(), ...(options.csps ?? [])]) csps.register(csp);
    const tree = DmTree.open(options.store, (path) => options.log?.error('DM tree node unreadable, dropped', { path }));
    await seedTree(tree, csps);
    return new OmaDmClient(options, tree, csps, fumo);
  }

  private account(serverId: string): DmAccount {
    const account = findAccount(this.tree, serverId);
    if (!account) throw new OmaDmError('unknownServer', `no DMAcc account for ${serverId}`);
    return account;
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const counted = async () => {
      this.running++;
      try {
        return await work();
      } finally {
        this.running--;
      }
    };
    const run = this.busyQueue.then(counted, counted);
    // The queue keeps no result: `run.catch()` alone would hold the session's summary (its commands)
    // until the next session, through the FUMO download that follows.
    const done = (): void => undefined;
    this.busyQueue = run.then(done, done);
    return run;
  }

  /**
   * A session (or alert delivery) is running. Work it causes (FUMO's `continue()` after a server
   * session, the pipeline's outbox reports) must not wait for another session: that one would be
   * queued behind the running one, which waits for it.
   */
  get busy(): boolean {
    return this.running > 0;
  }

  private session(account: DmAccount): DmSession {
    const { config, log } = this.o;
    // Only an account from the config file can allow plain HTTP; one a server added cannot.
    let allowInsecure = false;
    for (const a of config.accounts) {
      if (a.id !== account.id) continue;
      allowInsecure = a.allowInsecure === true;
      break;
    }
    // The platform and the configured limits as they are (the config holds only the keys that were
    // set), then the client's tree and CSPs, the account, and this session's UI.
    return new DmSession({
      ...this.o,
      ...config,
      tree: this.tree,
      csps: this.csps,
      ui: this.o.ui ?? policyInteraction(config.userPolicy ?? 'accept'),
      account,
      allowInsecure,
      warn: (line) => log?.warn(line),
      devId: this.o.facts.devId,
    });
  }

  /** A verified package #0 → the server-initiated session (Alert 1200, the notification's session id). */
  serverSession(notification: Notification, account?: DmAccount): Promise<SessionSummary> {
    return this.serialize(async () => {
      const { sessionIdText } = await loadNotification();
      const summary = await this.session(account ?? this.account(notification.serverId)).run({ kind: 'server', sessionId: sessionIdText(notification.sessionId) });
      await this.fumo.continue();
      return summary;
    });
  }

  /** A client-initiated session (Alert 1201), e.g. a periodic check-in. */
  clientSession(serverId: string, commands: Command[] = []): Promise<SessionSummary> {
    return this.serialize(() => this.runClientSession(serverId, commands));
  }

  private runClientSession(serverId: string, commands: Command[]): Promise<SessionSummary> {
    this.sessions = (this.sessions + 1) & 0xffff;
    return this.session(this.account(serverId)).run({ kind: 'client', sessionId: (this.sessions || 1).toString(16).toUpperCase(), commands });
  }

  /**
   * Sends the FUMO Generic Alerts waiting for acknowledgement, one client-initiated session per
   * server; an alert leaves the queue only on a 2xx Status. Returns how many were acknowledged.
   * A failed session leaves them queued for the next attempt (the caller's backoff).
   */
  deliverAlerts(): Promise<number> {
    return this.serialize(async () => {
      // By server, in the order of their first alert (a loop, not callbacks: fewer functions in QuickJS).
      const byServer = new Map<string, GenericAlert[]>();
      for (const alert of this.fumo.pendingAlerts()) byServer.set(alert.serverId, [...(byServer.get(alert.serverId) ?? []), alert]);
      let acknowledged = 0;
      for (const [serverId, alerts] of byServer) {
        const commands = alerts.map(genericAlertCommand);
        const summary = await this.runClientSession(serverId, commands);
        for (const [i, command] of commands.entries()) {
          if (!summary.acknowledged.includes(command)) continue;
          await this.fumo.acknowledge((alerts[i] as GenericAlert).id);
          acknowledged++;
        }
      }
      return acknowledged;
    });
  }
}
