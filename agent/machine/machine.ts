/**
 * The engine that runs a state table (./table.ts) over the crash-safe store, after Mender's
 * update flow:
 *  - the record {state, context, storeCount} is persisted *before* a state's handler runs, so
 *    every side effect happens in a state that a reboot will find again;
 *  - on boot, `resume()` moves a persisted machine along the table's state→step map;
 *  - every persist counts; past `maxStoreCount` the loop guard forces the state's `onLoop`
 *    (failure or rollback), so a handler that crashes the device on every boot cannot loop forever;
 *  - a handler posting an event its state has no transition for is a bug: `UnhandledEventError`.
 */
import type { KeyValueStore, StoreOp } from '../store/index.ts';
import { getValue, putOp } from '../store/index.ts';
import type { AbortSignalLike } from '../../hal/types.ts';
import { MachineError } from './errors.ts';
import { type MachineTable, stateDefinition, validateTable } from './table.ts';
import { hasOwn } from '../util/own.ts';

export interface MachineRecord<S extends string, C> {
  table: string;
  version: number;
  state: S;
  context: C;
  /** Persists since the job started; never reset while the job lives. */
  storeCount: number;
  /** Set once the loop guard has fired for this job. */
  loopTripped?: boolean;
}

export interface StepInfo<S extends string, C = unknown> {
  state: S;
  storeCount: number;
  /** This entry came from `resume()` after a boot. */
  resumed: boolean;
  /** The loop guard sent the machine here. */
  loopTripped: boolean;
  /**
   * Persists a new context while staying in this state (progress checkpoints). Not counted by the
   * loop guard: it is progress, not a re-entry.
   */
  save(context: C): Promise<void>;
}

export type HandlerResult<E extends string, C> =
  /**
   * Post an event; `context` replaces the job context (persisted with the next state). `effects`
   * are store writes committed in the same atomic batch as entering the next state (e.g. marking
   * a package installed together with finishing its job: never one without the other).
   */
  | { event: E; context?: C; effects?: StoreOp[] }
  /** Stop `run()` in this state (e.g. a reboot was requested); the next boot's `resume()` continues. */
  | { suspend: string; context?: C };

/**
 * A state's handler. `env` is the machine's `env` option: with it one module-level set of handlers
 * serves every machine of a table (a closure per state per job would be kept for the job's life,
 * ~80 B each in a QuickJS heap); such a set states the type of its `env` and is cast once.
 */
export type StateHandler<S extends string, E extends string, C> = (context: C, step: StepInfo<S, C>, env?: unknown) => Promise<HandlerResult<E, C>>;

export interface MachineOptions<S extends string, E extends string, C> {
  table: MachineTable<S, E>;
  handlers: Partial<Record<S, StateHandler<S, E, C>>>;
  store: KeyValueStore;
  /** Store key of this job's record. */
  key: string;
  /** Passed to every handler as its third argument (what the handlers work on: device, hooks, settings). */
  env?: unknown;
  /** Called after every persisted transition (for logs and progress). */
  onTransition?: (transition: { from: S; event: string; to: S; storeCount: number }) => void;
}

export type MachineOutcome<S extends string, C> =
  | { kind: 'final'; state: S; context: C }
  | { kind: 'suspended'; state: S; context: C; reason: string }
  | { kind: 'stopped'; state: S; context: C };

export class StateMachine<S extends string, E extends string, C> {
  // TypeScript-private and declared, set in the constructor: `#` fields and a field initializer
  // cost a QuickJS heap a private name per field and one more function for the class.
  private declare readonly table: MachineTable<S, E>;
  private declare readonly handlers: Partial<Record<S, StateHandler<S, E, C>>>;
  private declare readonly store: KeyValueStore;
  private declare readonly key: string;
  private declare readonly onTransition: MachineOptions<S, E, C>['onTransition'];
  private declare readonly env: unknown;
  /** The next handler runs right after `resume()`. */
  private declare resumed: boolean;

  constructor(options: MachineOptions<S, E, C>) {
    this.table = options.table;
    this.handlers = options.handlers;
    this.store = options.store;
    this.key = options.key;
    this.onTransition = options.onTransition;
    this.env = options.env;
    this.resumed = false;
    validateTable(options.table, Object.keys(options.handlers));
  }

  /** The persisted record, if a job exists under this key. */
  record(): MachineRecord<S, C> | undefined {
    let record = getValue<MachineRecord<S, C>>(this.store, this.key);
    const table = this.table;
    if (record === undefined) return undefined;
    if (typeof record !== 'object' || record === null || record.table !== table.name)
      throw new MachineError('badRecord', this.key, `belongs to table ${String((record as { table?: unknown })?.table)}, not ${table.name}`);
    if (record.version !== table.version) {
      const migrated = record.version < table.version ? table.migrate?.(record) : undefined;
      if (!migrated) throw new MachineError('badRecord', this.key, `version ${record.version}, expected ${table.version}`);
      // Kept in memory only: the next persist writes it in the current version.
      record = { ...record, version: table.version, state: migrated.state, context: migrated.context as C };
    }
    // Own states only: a damaged record naming `constructor` or `toString` must not pass as a state.
    if (typeof record.state !== 'string' || !hasOwn(table.states, record.state)) throw new MachineError('badRecord', this.key, `unknown state ${String(record.state)}`);
    return record;
  }

  /** True while a job exists and has not reached a final state. */
  active(): boolean {
    const record = this.record();
    return record !== undefined && !stateDefinition(this.table, record.state).final;
  }

  /** Starts a new job in the initial state. An unfinished job under the same key is an error. */
  async start(context: C): Promise<void> {
    if (this.active()) throw new MachineError('badRecord', this.key, 'a job is still in progress');
    await this.persist({ table: this.table.name, version: this.table.version, state: this.table.initial, context, storeCount: 1 });
  }

  /**
   * Call once per boot: a job persisted in a state with a `resume` entry moves there (counted by
   * the loop guard, so a job that keeps rebooting the device ends in its loop state).
   */
  async resume(): Promise<MachineRecord<S, C> | undefined> {
    const record = this.record();
    if (record === undefined) return record;
    const definition = stateDefinition(this.table, record.state);
    if (definition.final) return record;
    const target = definition.resume ?? record.state;
    const next = await this.enter(record, target, 'resume');
    this.resumed = true;
    return next;
  }

  /** Runs handlers until a final state, a suspend, or `signal` aborts between two states. */
  async run(options: { signal?: AbortSignalLike } = {}): Promise<MachineOutcome<S, C>> {
    let record = this.record();
    if (record === undefined) throw new MachineError('badRecord', this.key, 'no job to run: call start() first');
    for (;;) {
      const definition = stateDefinition(this.table, record.state);
      if (definition.final) return { kind: 'final', state: record.state, context: record.context };
      if (options.signal?.aborted) return { kind: 'stopped', state: record.state, context: record.context };
      const handler = this.handlers[record.state] as StateHandler<S, E, C>;
      const entered: MachineRecord<S, C> = record;
      const result = await handler(record.context, {
        state: record.state,
        storeCount: record.storeCount,
        resumed: this.resumed,
        loopTripped: record.loopTripped === true,
        save: async (context) => {
          record = await this.persist({ ...entered, context });
        },
      }, this.env);
      this.resumed = false;
      const context = result.context ?? record.context;
      if ('suspend' in result) {
        if (result.context !== undefined) record = await this.persist({ ...record, context });
        return { kind: 'suspended', state: record.state, context, reason: result.suspend };
      }
      const target = definition.on?.[result.event];
      if (target === undefined) throw new MachineError('unhandledEvent', this.table.name, `state ${record.state} has no transition for event ${String(result.event)}`, record.state, result.event);
      record = await this.enter({ ...record, context }, target, result.event, result.effects);
    }
  }

  /** Forgets the job (after its outcome was reported). */
  async clear(): Promise<void> {
    await this.store.delete(this.key);
  }

  /** Persists entry into `target`, applying the loop guard. */
  private async enter(record: MachineRecord<S, C>, target: S, event: string, effects: StoreOp[] = []): Promise<MachineRecord<S, C>> {
    const storeCount = record.storeCount + 1;
    let state = target;
    let loopTripped = record.loopTripped === true;
    const table = this.table;
    if (!stateDefinition(table, target).final && storeCount > table.maxStoreCount * (loopTripped ? 2 : 1)) {
      if (loopTripped) {
        // The failure path itself keeps looping: give up on the job rather than brick the device.
        state = table.giveUpState;
      } else {
        state = stateDefinition(table, record.state).onLoop ?? table.loopState;
        loopTripped = true;
      }
    }
    const next: MachineRecord<S, C> = { ...record, state, storeCount, ...(loopTripped ? { loopTripped } : {}) };
    await this.persist(next, state === target ? effects : []);
    this.onTransition?.({ from: record.state, event, to: state, storeCount });
    return next;
  }

  private async persist(record: MachineRecord<S, C>, effects: StoreOp[] = []): Promise<MachineRecord<S, C>> {
    await this.store.batch([putOp(this.key, record), ...effects]);
    return record;
  }
}
