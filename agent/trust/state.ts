/**
 * What trust remembers across reboots, in the crash-safe store under `trust/`:
 *
 *   trust/root                the trusted root (bytes as signed)
 *   trust/role/<name>         the last accepted timestamp, snapshot and targets (rollback baseline)
 *   trust/clock               the trusted time reached so far (ms): the clock never goes back
 *   trust/min/<kind>/<name>   anti-rollback minimum version of a package or an image
 *
 * A device that follows several repositories (one per family's server) keeps each one's root and
 * baseline apart under `trust/repo/<id>/` (`{ repository: id }`): their versions are unrelated, so
 * one repository's timestamp must never be the other's rollback baseline. The clock and the
 * minimums stay device-wide: an image refused as a downgrade by one family is refused by all.
 *
 * Every change is one store batch, so a power cut leaves either the old or the new state: a root
 * rotation writes the new root and drops the baseline it invalidates in one record, and raising a
 * minimum is a single put. Neither can produce a state that accepts a downgrade (the minimum only
 * goes up, and it goes up only at commit) or refuses all updates (the root is always a complete,
 * verified one).
 */
import type { KeyValueStore } from '../store/kv-store.ts';
import { getValue, putOp, deleteOp } from '../store/typed.ts';
import type { StoreOp } from '../store/format.ts';
import { compareVersions } from './artifact.ts';

export const TRUST_PREFIX = 'trust/';
const CLOCK_KEY = 'trust/clock';
const minKey = (kind: ArtifactKind, name: string) => `trust/min/${kind}/${name}`;

export type ArtifactKind = 'package' | 'image';
export type BaselineRole = 'timestamp' | 'snapshot' | 'targets';
const BASELINE: readonly BaselineRole[] = ['timestamp', 'snapshot', 'targets'];

export interface ClockSources {
  /** The HAL's real-time clock (ms since the epoch); may be wrong or reset. */
  rtcMs: number;
  /** The roaming reference counter (seconds, derived from managers' UTC; never goes back). */
  referenceCounter?: number;
}

const REPOSITORY = /^[a-z][a-z0-9-]{0,31}$/;

export class TrustState {
  // TypeScript-private and declared, set in the constructor (no `#` names: less QuickJS heap).
  private declare readonly store: KeyValueStore;
  private declare readonly repo: string;
  private declare readonly rootKey: string;

  constructor(store: KeyValueStore, options: { repository?: string } = {}) {
    if (options.repository !== undefined && !REPOSITORY.test(options.repository)) throw new Error(`bad trust repository id: ${options.repository}`);
    this.store = store;
    this.repo = options.repository === undefined ? TRUST_PREFIX : `${TRUST_PREFIX}repo/${options.repository}/`;
    this.rootKey = `${this.repo}root`;
  }

  private roleKey(name: string): string {
    return `${this.repo}role/${name}`;
  }

  rootBytes(): Uint8Array | undefined {
    return this.store.get(this.rootKey);
  }

  /** Installs the shipped root once; an existing (possibly rotated) root is kept. */
  async provision(shippedRoot: Uint8Array): Promise<void> {
    if (!this.store.has(this.rootKey)) await this.store.put(this.rootKey, shippedRoot);
  }

  role(name: BaselineRole): Uint8Array | undefined {
    return this.store.get(this.roleKey(name));
  }

  /**
   * A new root: with `keysChanged` (the timestamp or snapshot keys rotated) the old timestamp and
   * snapshot are dropped in the same record, so a fast-forward attack made with leaked old keys
   * cannot pin the device (TUF 5.3.11).
   */
  async saveRoot(bytes: Uint8Array, keysChanged: boolean): Promise<void> {
    const ops: StoreOp[] = [{ kind: 'put', key: this.rootKey, value: bytes }];
    if (keysChanged) ops.push(deleteOp(this.roleKey('timestamp')), deleteOp(this.roleKey('snapshot')));
    await this.store.batch(ops);
  }

  async saveRole(name: BaselineRole, bytes: Uint8Array): Promise<void> {
    if (!BASELINE.includes(name)) throw new Error(`not a baseline role: ${name}`);
    await this.store.put(this.roleKey(name), bytes);
  }

  /** The trusted time: the largest of the RTC, the persisted trusted time and the reference counter. */
  now(sources: ClockSources): number {
    const persisted = getValue<number>(this.store, CLOCK_KEY, isTime) ?? 0;
    return trustedTime(sources, persisted);
  }

  /** Persists the trusted time after a successful verification, when it moved forward. */
  async advanceClock(ms: number): Promise<void> {
    const persisted = getValue<number>(this.store, CLOCK_KEY, isTime) ?? 0;
    if (isTime(ms) && ms > persisted) await this.store.batch([putOp(CLOCK_KEY, ms)]);
  }

  minimum(kind: ArtifactKind, name: string): string | undefined {
    return getValue<string>(this.store, minKey(kind, name), isString);
  }

  /** Called at commit (the install is confirmed): the minimum only ever goes up. */
  async raiseMinimum(kind: ArtifactKind, name: string, version: string): Promise<boolean> {
    const ops = this.raiseMinimumOps(kind, name, version);
    if (ops.length === 0) return false;
    await this.store.batch(ops);
    return true;
  }

  /**
   * The same as store ops, for a pipeline to commit in the batch that records the job's success
   * (the package DB entry and the raised minimum land together or not at all). Empty when the
   * version does not raise the minimum.
   */
  raiseMinimumOps(kind: ArtifactKind, name: string, version: string): StoreOp[] {
    const current = this.minimum(kind, name);
    if (current !== undefined && compareVersions(version, current) <= 0) return [];
    return [putOp(minKey(kind, name), version)];
  }
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function trustedTime(sources: ClockSources, persistedMs: number): number {
  const counterMs = sources.referenceCounter !== undefined && Number.isSafeInteger(sources.referenceCounter) ? sources.referenceCounter * 1000 : 0;
  const rtc = Number.isFinite(sources.rtcMs) ? sources.rtcMs : 0;
  return Math.max(rtc, persistedMs, counterMs);
}
