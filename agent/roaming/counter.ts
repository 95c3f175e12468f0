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

export function counterFromUtc(utcMs: number): number {
  return Math.floor(utcMs / 1000);
}

export function nextReferenceCounter(previous: number | undefined, managerUtcMs: number): number {
  const derived = counterFromUtc(managerUtcMs);
  if (previous === undefined) return derived;
  return derived > previous ? derived : previous + 1;
}
