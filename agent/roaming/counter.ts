/**
 * The reference counter (seed 004): a timestamp for each connection of the agent, used by a new
 * manager during a move to decide which of two records of a target is the most recent. It is
 * derived from the *manager's* UTC (seconds), because the device clock cannot be trusted either;
 * since a manager's clock can be behind too, the counter never goes down:
 *
 *   fresh install:               counter = seconds(managerUtc)
 *   manager UTC moves it up:     counter = seconds(managerUtc)
 *   manager UTC would lower it:  counter = previous + 1   (the UTC is ignored)
 */
import type { KeyValueStore } from '../store/index.ts';
import { getValue } from '../store/typed.ts';

/** Store key of the roaming state (./tracker.ts). */
export const ROAMING_KEY = 'roaming';

/**
 * The counter of the last connection, read from the store without the tracker: the signed-metadata
 * gate of a family that does not roam needs only this (the tracker is a chunk such a board never loads).
 */
export function storedReferenceCounter(store: KeyValueStore): number | undefined {
  return getValue<{ referenceCounter?: number }>(store, ROAMING_KEY)?.referenceCounter;
}

export function counterFromUtc(utcMs: number): number {
  return Math.floor(utcMs / 1000);
}

export function nextReferenceCounter(previous: number | undefined, managerUtcMs: number): number {
  const derived = counterFromUtc(managerUtcMs);
  if (previous === undefined) return derived;
  return derived > previous ? derived : previous + 1;
}
