/**
 * FUMO 1.0 states and their transitions, as data. The State leaf (10…100) is this record's state;
 * the record is written before each side effect (download start, release, reboot), so after a
 * power cut the flow resumes from what the record says.
 */
export const FUMO_STATES = {
  idle: 10,
  downloadFailed: 20,
  downloading: 30,
  downloadComplete: 40,
  readyToUpdate: 50,
  updating: 60,
  updateFailedHaveData: 70,
  updateFailedNoData: 80,
  updateSuccessHaveData: 90,
  updateSuccessNoData: 100,
} as const;

export type FumoState = keyof typeof FUMO_STATES;
export type FumoOperation = 'download' | 'update' | 'downloadandupdate';
export type FumoEvent = 'execDownload' | 'execDownloadAndUpdate' | 'execUpdate' | 'execUpdatePkgData' | 'downloaded' | 'downloadFailed' | 'updated' | 'updateFailed';

/**
 * States where a new Exec Download / DownloadAndUpdate may begin (nothing in flight): `*` in the
 * table. Space-delimited, matched as ` state `.
 */
const RESTING = ' idle downloadFailed updateFailedHaveData updateFailedNoData updateSuccessHaveData updateSuccessNoData ';

/**
 * event → its `from>to` transitions, space-separated (`*` = any resting state). A pair not in the
 * table is refused (the Exec gets 405 / the event is ignored). Strings, not one object per event:
 * in QuickJS each distinct object literal is a layout of its own (~140 B) kept with the code.
 */
export const FUMO_TABLE: Record<FumoEvent, string> = {
  execDownload: '*>downloading',
  execDownloadAndUpdate: '*>downloading',
  // Download complete (Exec Download) or ready (DownloadAndUpdate): the pipeline's hold.
  downloaded: 'downloading>downloadComplete',
  downloadFailed: 'downloading>downloadFailed',
  execUpdate: 'downloadComplete>updating readyToUpdate>updating',
  // Exec Update on a package the server delivered in Update/PkgData: nothing to download, straight to 60.
  execUpdatePkgData: '*>updating',
  updated: 'updating>updateSuccessNoData',
  updateFailed: 'updating>updateFailedNoData downloading>downloadFailed',
};

export function nextState(state: FumoState, event: FumoEvent): FumoState | undefined {
  for (const pair of FUMO_TABLE[event].split(' ')) {
    const [from, to] = pair.split('>') as [string, FumoState];
    if (from === state || (from === '*' && RESTING.includes(` ${state} `))) return to;
  }
  return undefined;
}

export function isFumoState(value: unknown): value is FumoState {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(FUMO_STATES, value);
}

/** Generic Alert result codes (FUMO 1.0 §6.3 / PROTOCOLS.md). */
export const FUMO_RESULT = {
  success: 200,
  userCancelled: 401,
  corruptedPackage: 402,
  packageMismatch: 403,
  signatureFailed: 404,
  notAcceptable: 405,
  undefinedError: 409,
  updateFailed: 410,
  malformedUrl: 411,
  downloadNetwork: 503,
} as const;

export const ALERT_TYPE_PREFIX = 'org.openmobilealliance.dm.firmwareupdate.';
