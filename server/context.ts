/** What the route modules share: one manager's fleet, clock, state and helpers. */
import type { ManagerInfo } from '../agent/delivery/messages.ts';
import type { ArtifactSigner } from './artifacts.ts';
import type { DeltaMaker } from './deltas.ts';
import type { Devices } from './devices.ts';
import type { Faults } from './faults.ts';
import type { Fleet } from './fleet.ts';
import type { MoveContext } from './move.ts';
import type { PushBroker } from './push.ts';
import type { TargetRecords } from './records.ts';

export interface ManagerContext {
  readonly fleet: Fleet;
  /** This manager's public base URL, without a trailing slash. */
  readonly address: string;
  readonly clockOffsetMs: number;
  /** This manager's UTC: the host clock plus `clockOffsetMs` (tests run one manager hours behind). */
  utcMs(): number;
  managerInfo(): ManagerInfo;
  readonly devices: Devices;
  readonly records: TargetRecords;
  /** Undefined unless the manager was started with fault injection on (`--faults`). */
  readonly faults: Faults | undefined;
  /** The highest reference counter accepted: this manager's UTC plus `maxCounterAheadMs`. */
  maxCounter(): number;
  readonly maxCounterAheadMs: number;
  readonly signer: ArtifactSigner;
  readonly move: MoveContext;
  readonly locationTtlMs: number;
  /** Makes package deltas (undefined: instructions offer full packages only). */
  readonly deltas: DeltaMaker | undefined;
  /** Where "push now" publishes wake-ups (push.ts); undefined: no push. */
  readonly push: PushBroker | undefined;
  log(line: string): void;
}
