/**
 * The agent's side of the pull-model protocol: one typed method per exchange. Requests are
 * validated too (a malformed request is an agent bug and should fail here, not at the manager).
 */
import type { HttpClient } from '../../hal/types.ts';
import { exchange, joinUrl } from '../transport/http.ts';
import { EXCHANGES, type Endpoint } from './messages.ts';
import type { Infer } from '../transport/schema.ts';
import { redactText } from '../util/redact.ts';

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

/**
 * Status reports carry free text (an error message, a command's output tail) that can quote a
 * signed artifact URL or a manager URL with credentials: every report leaves the device redacted,
 * whatever produced the text.
 */
function redactStatus<T>(request: T): T {
  const status = request as { type?: unknown; error?: { code: string; message: string }; output?: string };
  if (status.type !== 'status') return request;
  // Never longer than before (`sig=a` → `sig=REDACTED` grows): the schema's length caps still hold.
  // The message keeps its head, the output its tail (where a failing command says why).
  const message = status.error ? redactText(status.error.message).slice(0, status.error.message.length) : undefined;
  const redactedOutput = status.output !== undefined ? redactText(status.output) : undefined;
  const output = redactedOutput?.slice(Math.max(0, redactedOutput.length - (status.output?.length ?? 0)));
  return {
    ...request,
    ...(status.error ? { error: { ...status.error, message } } : {}),
    ...(output !== undefined ? { output } : {}),
  };
}
