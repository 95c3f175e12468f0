/**
 * The family seam: what a protocol family (pull-model delivery, the device update web service,
 * OMA DM, hawkBit DDI, …) gives the agent, and what the agent gives it.
 *
 * A family is a folder in `agent/` that exports one `FamilyDefinition`, listed in ./registry.ts.
 * The agent validates the family's config section with the definition's schema, builds the family
 * when the config names it, hands it the shared parts (store, outbox, scheduler, pipeline
 * engines, log) and from then on only talks to it through `FamilyInstance`:
 *   - `boot()` once per start: resume the family's own jobs (records it cannot read are set aside
 *     by ./jobs.ts, never fatal);
 *   - `run(reason)` whenever one of its triggers fires (its schedule, a HAL event such as boot,
 *     user sign-in or user activity, a push message, `agent.trigger(name, reason)`);
 *   - `status()` for `dm-agent info`.
 * Families never reach into each other's store keys: each owns the prefixes it declares.
 */
import type { AbortSignalLike, Device } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';
import type { Logger } from '../log.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { ManagedTarget, RoamingTracker } from '../roaming/index.ts';
import type { KeyValueStore } from '../store/index.ts';
import type { TrustGate } from '../pipeline/trust-gate.ts';
import type { ScheduleConfig } from './schedule.ts';

/** HAL events a family can be woken by. */
export type HalEvent = 'boot' | 'signIn' | 'activity';

export type Trigger =
  /** Runs every `intervalMs` (+ jitter) under the schedule's conditions, with the shared backoff. */
  | { kind: 'schedule'; schedule: ScheduleConfig }
  | { kind: 'event'; event: HalEvent }
  /** A push message (MQTT topic, SMS, WAP push) routed to this family by its name. */
  | { kind: 'push'; channel: string };

/**
 * Why a family runs now. `push`: a message on the family's own push channel (after OMA DM package
 * #0 started its session: continue the work it left); `wake`: a CBOR "poll now" / "check now" on the
 * push channel (agent/push/): do what a scheduled run does, now.
 */
export type RunReason = 'boot' | 'schedule' | 'signIn' | 'activity' | 'push' | 'wake' | 'manual' | 'recheck';

export interface RunResult {
  /** The server's wish for the next run (seed 000 `nextPollMs`), or a hold's recheck time. */
  nextRunMs?: number;
}

export interface FamilyStatus {
  name: string;
  /** Jobs in flight, and records set aside because they could not be read. */
  jobs: { active: number; setAside: number };
  /** Reports waiting in the outbox. */
  outbox: number;
  /** Family-specific facts for `dm-agent info` (current firmware version, last update, manager, …). */
  details: Record<string, unknown>;
}

export interface FamilyContext<C> {
  device: Device;
  store: KeyValueStore;
  /** The installed-package DB's store (the board's `pkgdb` partition), when the board has one. */
  packageStore?: KeyValueStore;
  engines: Engines;
  outbox: Outbox;
  log: Logger;
  config: C;
  /** The board's `downloadChunkBytes`: bytes per staging or slot write of a download. */
  downloadChunkBytes?: number;
  targets: readonly ManagedTarget[];
  roaming: RoamingTracker;
  /** Progress events for UIs (the demo's bars), tagged with the family name by the agent. */
  emit(event: { kind: string; [field: string]: unknown }): void;
  /** Ask the scheduler to run this family again soon (e.g. a hold may be released). */
  wake(reason: RunReason, delayMs?: number): void;
  /** The agent's current stop signal: downloads and waits end at once when it aborts. */
  signal(): AbortSignalLike;
  /**
   * The family's signed-metadata gate (../pipeline/trust-gate.ts), over its own repository at
   * `metadataUrl()` (the config's `trust.metadataUrl` wins). Create it once per family.
   */
  trust(options: { metadataUrl(): string | Promise<string> }): TrustGate;
}

export interface FamilyInstance {
  readonly name: string;
  /** Store key prefixes this family owns (jobs, state, outbox). No two families may overlap. */
  readonly prefixes: readonly string[];
  readonly triggers: readonly Trigger[];
  /** Resumes the family's persisted jobs; returns how many are pending. */
  boot(): Promise<{ pending: number; setAside: number }>;
  /** Does what a trigger asks (poll, check for updates, continue a held job). Throws to back off. */
  run(reason: RunReason): Promise<RunResult>;
  status(): FamilyStatus;
  /**
   * A payload on one of the family's own `push` channels (OMA DM package #0), from the agent's push
   * channel (agent/push/). Verifies before acting; rejects to have the message dropped and logged.
   * Without it, a message on the channel just runs the family (reason `push`).
   */
  receivePush?(channel: string, payload: Uint8Array): Promise<void>;
}

export interface FamilyDefinition<C = unknown> {
  /** Also the name of the family's config section. */
  readonly name: string;
  /** Validates and completes the config section; throws a message naming the bad field. */
  parseConfig(input: unknown): C;
  create(context: FamilyContext<C>): FamilyInstance;
}
