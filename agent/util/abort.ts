/** `createAbort` lives with the waits it cancels (./sleep.ts); this name stays for its importers. */
export { type AbortHandle, createAbort } from './sleep.ts';
