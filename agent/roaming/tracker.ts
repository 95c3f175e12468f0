/**
 * Manager tracking (seed 004). Each connection's first answer names the domain manager that
 * manages the agent and carries that manager's UTC. The tracker
 *  - stamps the connection with the next reference counter (./counter.ts),
 *  - notices when the manager address differs from the previous connection's and then remembers
 *    the previous address for every managed target (the device and each user profile),
 *  - hands those previous addresses to the next request, until the new manager acknowledges the
 *    move for that target.
 * Everything is persisted in the crash-safe store *before* the counter is used, so a counter is
 * never handed out twice, even across a power cut.
 */
import type { KeyValueStore } from '../store/index.ts';
import { getValue, putValue } from '../store/index.ts';
import { ROAMING_KEY, nextReferenceCounter } from './counter.ts';
import { ownValue, setOwn } from '../util/own.ts';

export { ROAMING_KEY };

export interface ManagedTarget {
  id: string;
  kind: 'device' | 'user';
}

export interface RoamingState {
  /** Address of the manager of the last connection. */
  managerAddress?: string;
  /** Counter of the last connection. */
  referenceCounter?: number;
  /** Per target: the manager it was managed by before the last change, until the move is acknowledged. */
  previousManagers: Record<string, string>;
  connections: number;
  /** Every address change seen (most recent last, bounded), for diagnostics. */
  history: { from: string; to: string; counter: number }[];
}

export interface ConnectionStamp {
  referenceCounter: number;
  /** The manager changed with this connection. */
  moved: boolean;
  previousAddress?: string;
}

export type MoveResult = 'moved' | 'kept' | 'unreachable' | 'none';

const HISTORY_LIMIT = 16;

export class RoamingTracker {
  readonly #store: KeyValueStore;
  /** The decoded state at a store revision: a poll reads it four times, and decoding each time was a tenth of a poll's CPU. */
  #cached: { revision: number; state: Readonly<RoamingState> } | undefined;

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** The persisted state, frozen (it is shared between callers: copy before changing it). */
  state(): Readonly<RoamingState> {
    const revision = this.#store.revision;
    if (this.#cached?.revision !== revision) {
      const state = getValue<RoamingState>(this.#store, ROAMING_KEY) ?? { previousManagers: {}, connections: 0, history: [] };
      this.#cached = { revision, state: freezeState(state) };
    }
    return this.#cached.state;
  }

  /** Records a connection to `manager` (its address and UTC from the first answer) and stamps it. */
  async onConnection(manager: { address: string; utcMs: number }, targets: readonly ManagedTarget[]): Promise<ConnectionStamp> {
    const state = this.state();
    const referenceCounter = nextReferenceCounter(state.referenceCounter, manager.utcMs);
    const previousAddress = state.managerAddress;
    const moved = previousAddress !== undefined && previousAddress !== manager.address;
    const previousManagers = { ...state.previousManagers };
    const history = [...state.history];
    if (moved) {
      // Target ids come from the config: `__proto__` or `constructor` must be plain keys here.
      for (const target of targets) setOwn(previousManagers, target.id, previousAddress);
      history.push({ from: previousAddress, to: manager.address, counter: referenceCounter });
    }
    // A move back to the manager a target is waiting to leave needs no move any more.
    for (const [target, address] of Object.entries(previousManagers)) if (address === manager.address) delete previousManagers[target];
    await putValue(this.#store, ROAMING_KEY, {
      managerAddress: manager.address,
      referenceCounter,
      previousManagers,
      connections: state.connections + 1,
      history: history.slice(-HISTORY_LIMIT),
    } satisfies RoamingState);
    return { referenceCounter, moved, ...(moved ? { previousAddress } : {}) };
  }

  /** The previous manager per target still to be forwarded to the current manager. */
  pendingMoves(targets: readonly ManagedTarget[]): (ManagedTarget & { previousManager?: string })[] {
    const previous = this.state().previousManagers;
    return targets.map((target) => {
      const previousManager = ownValue(previous, target.id);
      return previousManager ? { ...target, previousManager } : { ...target };
    });
  }

  /** Forgets the previous manager of targets whose move the manager completed (or found unnecessary). */
  async acknowledge(moves: readonly { target: string; from: string; result: MoveResult }[]): Promise<void> {
    const state = this.state();
    const previousManagers = { ...state.previousManagers };
    let changed = false;
    for (const move of moves) {
      // `unreachable`: the old manager could not be asked; keep it and forward it again next time.
      if (move.result !== 'unreachable' && ownValue(previousManagers, move.target) === move.from) {
        delete previousManagers[move.target];
        changed = true;
      }
    }
    if (changed) await putValue(this.#store, ROAMING_KEY, { ...state, previousManagers });
  }
}

function freezeState(state: RoamingState): Readonly<RoamingState> {
  Object.freeze(state.previousManagers);
  for (const entry of state.history) Object.freeze(entry);
  Object.freeze(state.history);
  return Object.freeze(state);
}
