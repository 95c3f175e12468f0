/**
 * The agent's side of the pull-model protocol: one typed method per exchange. Requests are
 * validated too (a malformed request is an agent bug and should fail here, not at the manager).
 */
import type { HttpClient } from '../../hal/types.ts';
import { exchange, joinUrl } from '../transport/http.ts';
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
}

export class ManagerClient {
  readonly #options: ManagerClientOptions;

  constructor(options: ManagerClientOptions) {
    this.#options = options;
  }

  send<E extends Endpoint>(endpoint: E, request: Request<E>): Promise<Answer<E>> {
    const { request: requestSchema, answer } = EXCHANGES[endpoint];
    requestSchema.parse(request);
    return exchange(this.#options.http, joinUrl(this.#options.managerUrl(), `dm/v1/${endpoint}`), redactStatus(request), answer as { parse(value: unknown, path?: string): Answer<E> }, {
      maxAnswerBytes: this.#options.maxAnswerBytes,
      timeoutMs: this.#options.timeoutMs,
      ...(this.#options.deadlineMs !== undefined ? { deadlineMs: this.#options.deadlineMs } : {}),
    });
  }
}

/** Status reports leave the device redacted, whatever produced their text (see redactStatusFields). */
function redactStatus<T>(request: T): T {
  return (request as { type?: unknown }).type === 'status' ? redactStatusFields(request as T & StatusText) : request;
}
