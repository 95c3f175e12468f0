/**
 * FUMO 1.0 states and their transitions, as data. The State leaf (10…100) is this record's state;
 * the record is written before each side effect (download start, release, reboot), so after a
 * power cut the flow resumes from what the record says.
 *
 * The tables are strings and the code lists `const enum`s (inlined where used), not objects: in
 * QuickJS each distinct object literal is a layout of its own kept with the code, for the agent's
 * whole life.
 */
export type FumoState =
  | 'idle'
  | 'downloadFailed'
  | 'downloading'
  | 'downloadComplete'
  | 'readyToUpdate'
  | 'updating'
  | 'updateFailedHaveData'
  | 'updateFailedNoData'
  | 'updateSuccessHaveData'
  | 'updateSuccessNoData';
export type FumoOperation = 'download' | 'update' | 'downloadandupdate';
export type FumoEvent = 'execDownload' | 'execDownloadAndUpdate' | 'execUpdate' | 'execUpdatePkgData' | 'downloaded' | 'downloadFailed' | 'updated' | 'updateFailed';

/**
 * The tables below as a `const enum`, inlined where used: module constants are each a variable and a
 * name (an atom) in a QuickJS heap. The exported constants name them for tests and the manager.
 */
export const enum Fumo {
  /** The states in State-leaf order, space-delimited: the n-th (from 1) is State n × 10 (idle 10 … updateSuccessNoData 100). */
  states = 'idle downloadFailed downloading downloadComplete readyToUpdate updating updateFailedHaveData updateFailedNoData updateSuccessHaveData updateSuccessNoData',
  /** States where a new Exec Download / DownloadAndUpdate may begin (nothing in flight): `*` in the table. Space-delimited, matched as ` state `. */
  resting = ' idle downloadFailed updateFailedHaveData updateFailedNoData updateSuccessHaveData updateSuccessNoData ',
  /**
   * One line per event: the event, then its `from>to` transitions (`*` = any resting state). A pair
   * not in the table is refused (the Exec gets 405 / the event is ignored).
   *  - downloaded / downloadFailed: download complete (Exec Download) or ready (DownloadAndUpdate),
   *    the pipeline's hold;
   *  - execUpdatePkgData: Exec Update on a package the server delivered in Update/PkgData: nothing
   *    to download, straight to 60.
   */
  table = 'execDownload *>downloading\nexecDownloadAndUpdate *>downloading\ndownloaded downloading>downloadComplete\ndownloadFailed downloading>downloadFailed\nexecUpdate downloadComplete>updating readyToUpdate>updating\nexecUpdatePkgData *>updating\nupdated updating>updateSuccessNoData\nupdateFailed updating>updateFailedNoData downloading>downloadFailed',
  /** Generic Alert type of an operation's result: this, then the operation. */
  alertTypePrefix = 'org.openmobilealliance.dm.firmwareupdate.',
}

export const FUMO_STATES = Fumo.states;

/** The State leaf's value of `state` (FUMO 1.0 §5.3). */
export function stateCode(state: FumoState): number {
  return (Fumo.states.split(' ').indexOf(state) + 1) * 10;
}

export function isFumoState(value: unknown): value is FumoState {
  return typeof value === 'string' && /^\w+$/.test(value) && ` ${Fumo.states} `.includes(` ${value} `);
}

/** The transition table (Fumo.table), for tests. */
export const FUMO_TABLE = Fumo.table;

export function nextState(state: FumoState, event: FumoEvent): FumoState | undefined {
  for (const line of Fumo.table.split('\n')) {
    const [name, ...pairs] = line.split(' ');
    if (name !== event) continue;
    for (const pair of pairs) {
      const [from, to] = pair.split('>') as [string, FumoState];
      if (from === state || (from === '*' && Fumo.resting.includes(` ${state} `))) return to;
    }
  }
  return undefined;
}

/** Generic Alert result codes (FUMO 1.0 §6.3 / PROTOCOLS.md). */
export const enum FUMO_RESULT {
  success = 200,
  userCancelled = 401,
  corruptedPackage = 402,
  packageMismatch = 403,
  signatureFailed = 404,
  notAcceptable = 405,
  undefinedError = 409,
  updateFailed = 410,
  malformedUrl = 411,
  downloadNetwork = 503,
}

