/**
 * A state machine is data: one table lists every state, the events its handler may post and
 * where each leads, where a machine persisted in that state resumes after a reboot (Mender's
 * state→step map) and where it goes when the loop guard trips. The engine (./machine.ts) only
 * interprets the table, so a flow can be read, reviewed and tested in one place.
 */
import { MachineError } from './errors.ts';

export interface StateDefinition<S extends string, E extends string> {
  /** Events this state's handler may post, and the state each one leads to. */
  on?: Partial<Record<E, S>>;
  /**
   * Where a machine found persisted in this state continues on boot. Default: the state itself
   * (its handler must then be safe to run again). A state whose side effect cannot be repeated
   * safely (a post-install command, a reboot) resumes somewhere that checks the outcome instead.
   */
  resume?: S;
  /** Where the loop guard sends a machine that re-entered too often from this state. Default: the table's `loopState`. */
  onLoop?: S;
  /** The machine stops here; no handler runs. */
  final?: boolean;
}

/**
 * A state written as one string, the same definition at a fraction of the heap (in QuickJS every
 * distinct `on` object literal is an object layout of its own, ~140 B, kept as long as the table):
 * space-separated `event>target` transitions, then optionally `@resume>state` and `@onLoop>state`;
 * `@final` alone for a final state. E.g. `'healthy>committing unhealthy>rollingBack @onLoop>rollingBack'`.
 * Both forms may be mixed in one table; `stateDefinition` reads either.
 */
export type CompactState = string;

export interface MachineTable<S extends string, E extends string> {
  /** Stored with the record: a record of another table is refused instead of misread. */
  name: string;
  /** Bump when states or the context change; a record of another version goes through `migrate` or is refused. */
  version: number;
  /**
   * Migration hook: turns a record written by an older version of this table into a current one
   * (same table name, `record.version` < `version`), or returns undefined when it cannot. The
   * agent sets a record it cannot read aside (see agent/families/jobs.ts) instead of refusing to boot.
   */
  migrate?: (record: { version: number; state: string; context: unknown; storeCount: number }) => { state: S; context: unknown } | undefined;
  initial: S;
  states: Record<S, StateDefinition<S, E> | CompactState>;
  /** Default destination of the loop guard. */
  loopState: S;
  /** Final state for a job whose failure path loops too: the loop guard gives up on it here. */
  giveUpState: S;
  /** Maximum state entries (persists) one job may make before the loop guard trips (Mender: StateDataStoreCount). */
  maxStoreCount: number;
}

/** A state's definition, whichever form the table gives it in (a compact one is read per call: nothing kept). */
export function stateDefinition<S extends string, E extends string>(table: MachineTable<S, E>, state: S): StateDefinition<S, E> {
  const definition = table.states[state];
  if (typeof definition !== 'string') return definition;
  const read: { on?: Record<string, string>; resume?: string; onLoop?: string; final?: boolean } = {};
  for (const token of definition.split(' ')) {
    const [key = '', target] = token.split('>');
    if (key === '@final') read.final = true;
    else if (key === '@resume' || key === '@onLoop') read[key === '@resume' ? 'resume' : 'onLoop'] = target;
    else if (key) (read.on ??= {})[key] = target as string;
  }
  return read as StateDefinition<S, E>;
}

/**
 * Checks a table once, when a machine is built: every target exists, finals are terminal, the guard
 * can act. Plain loops, no helper closures: its code stays loaded on a QuickJS board.
 */
export function validateTable<S extends string, E extends string>(table: MachineTable<S, E>, handled: readonly string[]): void {
  const states: string[] = Object.keys(table.states);
  let finals = '';
  let problem: string | undefined;
  for (const state of states) {
    const { on = {}, final, resume = state, onLoop = state } = stateDefinition(table, state as S);
    let targets = 0;
    for (const [event, target] of Object.entries(on)) {
      targets++;
      // A final state's transitions are its problem, wherever they lead (below).
      if (!final && !states.includes(target as string)) problem ??= `${state} --${event}--> ${target}: no such state`;
    }
    if (final) finals += ` ${state} `;
    problem ??= final
      ? targets > 0 ? `final state ${state} has transitions` : undefined
      : targets === 0 ? `state ${state} is neither final nor has transitions`
      : !states.includes(resume) ? `${state} resumes at unknown state ${resume}`
      : !states.includes(onLoop) ? `${state} loops to unknown state ${onLoop}`
      : !handled.includes(state) ? `state ${state} has no handler`
      : undefined;
  }
  for (const name of handled) if (!states.includes(name)) problem ??= `handler for unknown state ${name}`;
  // The table's own fields first: their problems are reported before any state's.
  problem =
    !states.includes(table.initial) ? `initial state ${table.initial} is not defined`
    : !states.includes(table.loopState) ? `loopState ${table.loopState} is not defined`
    : !(Number.isInteger(table.maxStoreCount) && table.maxStoreCount > 0) ? 'maxStoreCount must be a positive integer'
    : !finals ? 'no final state'
    : !finals.includes(` ${table.giveUpState} `) ? `giveUpState ${table.giveUpState} must be a final state`
    : problem;
  if (problem !== undefined) throw new MachineError('badTable', table.name, problem);
}
