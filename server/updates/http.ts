/**
 * The update service behind two real listeners: the internal one (reachable inside the firewall;
 * no credentials needed) and the external one (published outside; every request needs a valid
 * user, over TLS). Two listeners is how the seeds' internal and external URLs work, and it lets
 * the service know where a request came from without trusting anything the request says.
 */
import { type HttpHandler, type ListenOptions, type Listener, listenHttp } from '../http.ts';
import { type UpdateService, type UpdateServiceOptions, createUpdateService } from './service.ts';

export interface UpdateListenOptions extends ListenOptions {
  /** The origin devices use for this listener (behind a proxy or NAT); default: where it listens. */
  origin?: string;
}

export interface StartUpdateServerOptions extends Omit<UpdateServiceOptions, 'internalOrigin' | 'externalOrigin'> {
  internal?: UpdateListenOptions;
  external?: UpdateListenOptions;
  /** Folders imported (as pending rules) once listening. */
  importFolders?: readonly string[];
}

export interface RunningUpdateServer {
  service: UpdateService;
  /** Where each listener really is (e.g. `https://127.0.0.1:40123`). */
  internalUrl: string;
  externalUrl: string;
  /** Closes both listeners. Idempotent. */
  close(): Promise<void>;
}

export async function startUpdateServer(options: StartUpdateServerOptions): Promise<RunningUpdateServer> {
  const { internal = {}, external = {}, importFolders = [], ...rest } = options;
  let handlers: { internal: HttpHandler; external: HttpHandler } | undefined;
  const listeners: Listener[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(listeners.map((listener) => listener.close()));
  };
  try {
    listeners.push(await listenHttp(() => handlers?.internal, internal));
    listeners.push(await listenHttp(() => handlers?.external, external));
    const [inside, outside] = listeners as [Listener, Listener];
    // Created after listen, so that port-0 listeners announce the addresses they are really at.
    const service = createUpdateService({ ...rest, internalOrigin: internal.origin ?? inside.url, externalOrigin: external.origin ?? outside.url });
    for (const folder of importFolders) await service.importFolder(folder);
    handlers = { internal: service.handler({ zone: 'internal', tls: internal.tls !== undefined }), external: service.handler({ zone: 'external', tls: external.tls !== undefined }) };
    return { service, internalUrl: inside.url, externalUrl: outside.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}
