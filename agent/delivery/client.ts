/**
 * The agent's side of the pull-model protocol: one typed method per exchange. Requests are
 * validated too (a malformed request is an agent bug and should fail here, not at the manager).
 */
import type { HttpClient } from '../../hal/types.ts';
import type { DeviceTokens } from '../transport/device-token.ts';
import { exchange, joinUrl } from '../transport/http.ts';
import { requireSecureUrl } from '../trust/transport-policy.ts';
import { EXCHANGES, type Endpoint } from './messages.ts';
import type { Infer } from '../transport/schema.ts';
import { type StatusText, redactStatusFields } from '../util/redact.ts';

type Request<E extends Endpoint> = Infer<(typeof EXCHANGES)[E]['request']>;
type Answer<E extends Endpoint> = Infer<(typeof EXCHANGES)[E]['answer']>;

export interface ManagerClientOptions {
  http: HttpClient;
  /** The manager URL to use now (it can change when a manager redirects the device). */
  managerUrl: () => string;
  timeoutMs: number;
  /** Bound on the whole exchange (headers + body). */
  deadlineMs?: number;
  maxAnswerBytes: number;
  /** The device's tokens (loaded on first use): every exchange carries `Authorization: Bearer <token>`. Absent: no device auth. */
  tokens?: () => Promise<DeviceTokens>;
  /** `http://` managers are accepted (the service logs each poll of one; see DeliveryService). */
  allowInsecure: boolean;
}

export class ManagerClient {
  readonly #options: ManagerClientOptions;

  constructor(options: ManagerClientOptions) {
    this.#options = options;
  }

  send<E extends Endpoint>(endpoint: E, request: Request<E>): Promise<Answer<E>> {
    const { request: requestSchema, answer } = EXCHANGES[endpoint];
    requestSchema.parse(request);
    const o = this.#options;
    const manager = o.managerUrl();
    // Before every exchange: a redirected manager gets the same rule as the configured one.
    requireSecureUrl(manager, { allowInsecure: o.allowInsecure }, 'delivery manager');
    const send = (headers?: Record<string, string>) =>
      exchange(o.http, joinUrl(manager, `dm/v1/${endpoint}`), redactStatus(request), answer as { parse(value: unknown, path?: string): Answer<E> }, {
        maxAnswerBytes: o.maxAnswerBytes,
        timeoutMs: o.timeoutMs,
        ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
        ...(headers ? { headers } : {}),
      });
    return o.tokens ? o.tokens().then((tokens) => tokens.withToken(manager, send)) : send();
  }
}

/** Status reports leave the device redacted, whatever produced their text (see redactStatusFields). */
function redactStatus<T>(request: T): T {
  return (request as { type?: unknown }).type === 'status' ? redactStatusFields(request as T & StatusText) : request;
}
