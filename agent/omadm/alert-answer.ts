/**
 * Reading a user interaction alert (1100–1104, DM_Protocol 1.2 §10.5) and the Status that answers
 * it. Imported only by ./rare-commands.ts (a lazy chunk), so a session without a server Alert does
 * not load it; the types and the headless policy stay in ./alerts.ts.
 */
import type { UserAlert, UserAnswer } from './alerts.ts';

export const ALERT_DISPLAY = 1100;
export const ALERT_CONFIRM = 1101;
export const ALERT_TEXT_INPUT = 1102;
export const ALERT_SINGLE_CHOICE = 1103;
export const ALERT_MULTIPLE_CHOICE = 1104;

export function isUserAlert(code: number): boolean {
  return code >= ALERT_DISPLAY && code <= ALERT_MULTIPLE_CHOICE;
}

/** `MAXDT=20&DR=1-3&IT=A` → record; the value may hold `+` and `!` (text), never `&`. */
export function parseAlertOptions(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) options[part.slice(0, eq).trim().toUpperCase()] = part.slice(eq + 1);
  }
  return options;
}

/** Default response values (DR): choices are separated by `-` for 1104. */
export function defaultValues(alert: UserAlert): string[] {
  const dr = alert.options.DR;
  if (dr === undefined || dr === '') return [];
  return alert.code === ALERT_MULTIPLE_CHOICE ? dr.split('-') : [dr];
}

/** Status code and answer items for an alert and a user's answer. */
export function answerStatus(alert: UserAlert, answer: UserAnswer): { status: number; values: string[] } {
  // A display alert asks nothing: shown for MINDT, it succeeds unless the user cancels the session.
  if (alert.code === ALERT_DISPLAY && answer.kind !== 'cancel') return { status: 200, values: [] };
  const values = answer.kind === 'accept' ? (answer.values ?? defaultValues(alert)) : answer.kind === 'timeout' ? defaultValues(alert) : [];
  switch (answer.kind) {
    case 'accept':
      return { status: 200, values: alert.code === ALERT_DISPLAY || alert.code === ALERT_CONFIRM ? [] : values };
    case 'reject':
      return { status: 304, values: [] };
    case 'cancel':
      return { status: 214, values: [] };
    case 'timeout':
      return { status: 408, values: alert.code === ALERT_DISPLAY || alert.code === ALERT_CONFIRM ? [] : values };
  }
}
