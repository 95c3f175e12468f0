/**
 * The reference OMA DM server behind a real listener: `startDmServer()` → the server, its URL and
 * close(). Tests that mount it on the mock network use `DmServer` directly.
 */
import { type Listener, type ListenOptions, listenHttp } from '../http.ts';
import { DmServer, type DmServerOptions } from './server.ts';

export { DmServer, type DmServerOptions, type ClientAccount, DM_PATH, FUMO_PATH } from './server.ts';
export { DmJournal, type JournalEntry, type GenericAlertRecord } from './journal.ts';
export * from './script.ts';
export * from './notify.ts';

export interface RunningDmServer {
  server: DmServer;
  /** The DM URL (DMAcc AppAddr). */
  url: string;
  listener: Listener;
  close(): Promise<void>;
}

export async function startDmServer(options: DmServerOptions, listen: ListenOptions = {}): Promise<RunningDmServer> {
  const server = new DmServer(options);
  const listener = await listenHttp(() => server, listen);
  server.setOrigin(listener.url);
  return { server, url: server.url, listener, close: () => listener.close() };
}
