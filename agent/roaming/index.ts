export { counterFromUtc, nextReferenceCounter } from './counter.ts';
export { RoamingTracker, ROAMING_KEY, type ConnectionStamp, type ManagedTarget, type MoveResult, type RoamingState } from './tracker.ts';
