/**
 * The outbox: every report a family sends goes through a persisted queue, so it is delivered at
 * least once, with backoff, until the receiving server acknowledges it — across reboots, and
 * whether or not a poll or session happens to be open when the report is made (FUMO's Generic
 * Alert and a firmware update's result are sent after a reboot, in a new session).
 *
 * An entry is enqueued with a store op (`enqueueOp`) that a state machine commits in the same
 * atomic batch as its transition: a report is queued exactly once per transition, never lost
 * between "decided" and "sent". Delivery (`flush`) is in order per family, through the transport
 * the family registered; an entry is deleted only after the transport returned (acknowledged).
 * A power cut between the acknowledgement and the delete sends the entry again: receivers dedupe
 * by the entry's `id`, which is stable.
 *
 * Keys: `<family prefix>outbox/<sequence>`. Bounded: past `maxEntries` per family the oldest entry
 * is dropped (and logged) so a long offline period cannot fill the store and lock the agent up.
 */
import type { Clock } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import { backoffDelay, type BackoffPolicy } from '../pipeline/backoff.ts';
import { type KeyValueStore, type StoreOp, deleteOp, getValue, putOp } from '../store/index.ts';
import { errorMessage } from '../util/retry.ts';

export interface OutboxEntry<B = unknown> {
  /** Stable identity of the report (receivers dedupe on it), e.g. `<job id>/result`. */
  id: string;
  /** What kind of report this is, for the transport and the logs. */
  kind: string;
  body: B;
  queuedUtcMs: number;
  attempts: number;
  /** Not before this UTC time (backoff after a failed attempt). */
  nextUtcMs?: number;
}

/** Sends one entry; resolves when the receiver acknowledged it. Throw a transient error to retry later. */
export type OutboxTransport = (entry: OutboxEntry) => Promise<void>;

export interface FlushResult {
  delivered: number;
  /** Refused for good by the receiver (not retried). */
  refused: number;
  pending: number;
}

export interface OutboxOptions {
  store: KeyValueStore;
  clock: Pick<Clock, 'utcMs'>;
  log: Logger;
  random01: () => number;
  maxEntries?: number;
  backoff?: BackoffPolicy;
}

const SEGMENT = 'outbox/';

export class Outbox {
  // Declared and set in the constructor, not class fields (a field initializer is one more
  // function in a QuickJS heap) nor #private names (each is one more atom and brand).
  private declare readonly o: OutboxOptions;
  /** Per family: its store prefix (declare), its transport (register) and its flush in progress. */
  private declare readonly prefixes: Map<string, string>;
  private declare readonly transports: Map<string, OutboxTransport>;
  private declare readonly busy: Map<string, Promise<unknown>>;
  private declare sequence: number;

  constructor(options: OutboxOptions) {
    this.o = options;
    this.prefixes = new Map();
    this.transports = new Map();
    this.busy = new Map();
    this.sequence = 0;
  }

  /** A family's queue lives under its store prefix. */
  declare(family: string, prefix: string): void {
    this.prefixes.set(family, prefix);
    for (const key of this.o.store.keys(prefix + SEGMENT)) this.sequence = Math.max(this.sequence, sequenceOf(key));
  }

  /** The family's transport (how its reports reach its server). */
  register(family: string, send: OutboxTransport): void {
    this.prefix(family); // a family that was not declared is refused now, not at its first flush
    this.transports.set(family, send);
  }

  /** The store op that queues a report; commit it with the transition that decided the report. */
  enqueueOp(family: string, entry: { id: string; kind: string; body: unknown }): StoreOp[] {
    const prefix = this.prefix(family);
    const ops: StoreOp[] = [];
    const keys = this.o.store.keys(prefix + SEGMENT);
    const max = this.o.maxEntries ?? 64;
    for (const key of keys.slice(0, Math.max(0, keys.length - max + 1))) {
      const dropped = getValue<OutboxEntry>(this.o.store, key);
      this.o.log.error('outbox full: dropped the oldest report', { family, id: dropped?.id, kind: dropped?.kind });
      ops.push(deleteOp(key));
    }
    this.sequence++;
    const queued: OutboxEntry = { ...entry, queuedUtcMs: this.o.clock.utcMs(), attempts: 0 };
    ops.push(putOp(`${prefix}${SEGMENT}${String(this.sequence).padStart(10, '0')}`, queued));
    return ops;
  }

  /** Queues a report by itself (when no transition carries it). */
  async enqueue(family: string, entry: { id: string; kind: string; body: unknown }): Promise<void> {
    await this.o.store.batch(this.enqueueOp(family, entry));
  }

  pending(family: string): OutboxEntry[] {
    const prefix = this.prefix(family);
    return this.o.store.keys(prefix + SEGMENT).map((key) => getValue<OutboxEntry>(this.o.store, key) as OutboxEntry);
  }

  /**
   * Delivers the family's queue in order until it is empty or an entry must wait (transient
   * failure: backoff persisted on the entry; later entries wait behind it to keep the order).
   * Never throws for a delivery failure. Concurrent calls for one family run one after the other.
   */
  flush(family: string, options: { force?: boolean } = {}): Promise<FlushResult> {
    const previous = this.busy.get(family) ?? Promise.resolve();
    const run = previous.then(() => this.flushNow(family, options.force === true));
    this.busy.set(family, run.catch(() => undefined));
    return run;
  }

  private async flushNow(family: string, force: boolean): Promise<FlushResult> {
    const send = this.transports.get(family);
    const { store, clock, log } = this.o;
    const result: FlushResult = { delivered: 0, refused: 0, pending: 0 };
    const keys = store.keys(this.prefix(family) + SEGMENT);
    if (!send) return { ...result, pending: keys.length };
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const entry = getValue<OutboxEntry>(store, key);
      if (!entry) continue;
      if (!force && entry.nextUtcMs !== undefined && entry.nextUtcMs > clock.utcMs()) {
        result.pending = keys.length - i;
        return result;
      }
      try {
        await send(entry);
      } catch (error) {
        // Only an explicit refusal (`retryable: false`) drops a report; anything else is tried again.
        if ((error as { retryable?: unknown } | null)?.retryable !== false) {
          const attempts = entry.attempts + 1;
          const delay = backoffDelay(attempts, this.o.backoff ?? { initialMs: 5_000, maxMs: 3_600_000, factor: 2 }, this.o.random01());
          await store.batch([putOp(key, { ...entry, attempts, nextUtcMs: clock.utcMs() + delay })]);
          log.info('report queued for a later attempt', { family, id: entry.id, kind: entry.kind, attempts, retryInMs: Math.round(delay), error: errorMessage(error) });
          result.pending = keys.length - i;
          return result;
        }
        // The receiver refused it for good (malformed, unknown job): retrying cannot help.
        await store.batch([deleteOp(key)]);
        log.error('report refused by the server; dropped', { family, id: entry.id, kind: entry.kind, error: errorMessage(error) });
        result.refused++;
        continue;
      }
      await store.batch([deleteOp(key)]);
      log.info('report delivered', { family, id: entry.id, kind: entry.kind, attempts: entry.attempts + 1 });
      result.delivered++;
    }
    return result;
  }

  private prefix(family: string): string {
    const prefix = this.prefixes.get(family);
    if (prefix === undefined) throw new Error(`outbox: family ${family} was not declared`);
    return prefix;
  }
}

function sequenceOf(key: string): number {
  const n = Number(key.slice(key.lastIndexOf('/') + 1));
  return Number.isSafeInteger(n) ? n : 0;
}
