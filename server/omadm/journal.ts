/**
 * What the reference DM server saw, in order, for tests and the CLI log: sessions, auth outcomes,
 * the client's Status and Results, downloads, refused versions, and the Generic Alerts it
 * acknowledged. A Generic Alert seen again (the client resends after a lost acknowledgement) is
 * counted as a duplicate, not as a second alert.
 */
export interface GenericAlertRecord {
  sessionId: string;
  deviceId: string;
  correlator?: string;
  source: string;
  type: string;
  mark?: string;
  result: number;
}

export type JournalEntry =
  | { kind: 'session'; sessionId: string; deviceId: string; version: string; initiated: 'server' | 'client' }
  | { kind: 'auth'; sessionId: string; deviceId: string; status: 212 | 401 }
  | { kind: 'refused'; sessionId: string; status: 505; version: string }
  | { kind: 'command'; sessionId: string; deviceId: string; cmd: string; uris: string[] }
  | { kind: 'status'; sessionId: string; deviceId: string; cmd: string; code: number; uris: string[] }
  | { kind: 'result'; sessionId: string; deviceId: string; uri: string; data: string; moreData?: true }
  | { kind: 'end'; sessionId: string; deviceId: string }
  | { kind: 'download'; name: string; range?: string }
  | { kind: 'descriptor'; name: string }
  | { kind: 'installNotify'; name: string; status: string }
  | { kind: 'malformed'; reason: string }
  | { kind: 'notify'; transport: 'udp' | 'mqtt'; sessionId: number; to: string }
  | ({ kind: 'genericAlert'; duplicate: boolean } & GenericAlertRecord);

const MAX_ENTRIES = 10_000;

export class DmJournal {
  readonly entries: JournalEntry[] = [];
  readonly #listeners = new Set<(entry: JournalEntry) => void>();
  readonly #alertKeys = new Set<string>();

  add(entry: JournalEntry): void {
    this.entries.push(entry);
    // Bounded: a long-running CLI server must not grow without end.
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    for (const listener of this.#listeners) listener(entry);
  }

  genericAlert(alert: GenericAlertRecord): void {
    const key = JSON.stringify([alert.deviceId, alert.correlator ?? '', alert.source, alert.type, alert.result]);
    const duplicate = this.#alertKeys.has(key);
    this.#alertKeys.add(key);
    this.add({ kind: 'genericAlert', duplicate, ...alert });
  }

  /** Generic Alerts acknowledged, without resends. */
  genericAlerts(): GenericAlertRecord[] {
    return this.entries.filter((e): e is Extract<JournalEntry, { kind: 'genericAlert' }> => e.kind === 'genericAlert' && !e.duplicate).map(({ kind: _k, duplicate: _d, ...alert }) => alert);
  }

  of<K extends JournalEntry['kind']>(kind: K): Extract<JournalEntry, { kind: K }>[] {
    return this.entries.filter((e): e is Extract<JournalEntry, { kind: K }> => e.kind === kind);
  }

  /** The client's Status codes for our commands, `Cmd:code`, in order (optionally of one session). */
  statuses(sessionId?: string): string[] {
    return this.of('status').filter((s) => sessionId === undefined || s.sessionId === sessionId).map((s) => `${s.cmd}:${s.code}`);
  }

  /** Calls `listener` for every later entry; returns the unsubscribe function. */
  onEntry(listener: (entry: JournalEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
