/**
 * The device's bearer tokens, one per manager (a redirect or a move leads to another manager, which
 * knows the device's key or not): the first exchange with a manager signs an authentication
 * request with the keystore key (../trust/device-auth.ts) and keeps the short-lived token it gets,
 * in memory only — never in the store, a log, a report or an error. A token is renewed before it
 * expires (by the device's monotonic clock, so a wall-clock jump cannot keep a dead token alive)
 * and dropped when the manager answers 401, after which `withToken` authenticates again once.
 *
 * A manager that does not know the key yet answers *pending*: the exchange fails with a retryable
 * `TransportError` (status 401, managerCode `pending`) and the family's schedule tries again later,
 * by which time an admin may have accepted the key. A *rejected* key is not retryable.
 *
 * A request the manager finds stale (the device's wall clock is far off: a board that boots at
 * 1970) is answered with the manager's time; the device signs one fresh request with that time.
 * The time only bounds how long the manager remembers nonces; the signature still proves the key.
 * A request refused as *replayed* is signed once more with a fresh nonce (a nonce can only collide
 * by accident: this device never resends a request).
 */
import type { Clock, HttpClient, Keystore, Random } from '../../hal/types.ts';
import { NetworkError } from '../../hal/errors.ts';
import { AUTH_PATH, AUTH_SIGNATURE_HEADER, signedAuthRequest } from '../trust/device-auth.ts';
import { utf8Decode } from '../util/bytes.ts';
import { redactText, redactUrl } from '../util/redact.ts';
import { TransportError, joinUrl } from './http.ts';

export interface DeviceTokenOptions {
  http: HttpClient;
  keystore: Keystore;
  random: Random;
  clock: Clock;
  deviceId: () => Promise<string>;
  timeoutMs: number;
  deadlineMs?: number;
}

interface Held {
  token: string;
  /** Renew once the monotonic clock passes this. */
  renewAtMs: number;
}

const MAX_ANSWER_BYTES = 8 * 1024;

/** An answer of the auth endpoint (JSON), as far as the device needs it. */
interface AuthAnswer {
  token?: unknown;
  ttlMs?: unknown;
  status?: unknown;
  serverTimeMs?: unknown;
  error?: { code?: unknown; message?: unknown };
}

export class DeviceTokens {
  readonly #o: DeviceTokenOptions;
  readonly #held = new Map<string, Held>();
  /** Per manager: its clock minus ours, learnt from a `stale` answer. */
  readonly #offsets = new Map<string, number>();
  /** One authentication per manager at a time: concurrent exchanges share it. */
  readonly #inFlight = new Map<string, Promise<string>>();
  /** How many authentication requests were sent (tests and `dm-agent run --info`). */
  requests = 0;

  constructor(options: DeviceTokenOptions) {
    this.#o = options;
  }

  /**
   * Runs `exchange` with `Authorization: Bearer <token>` for `manager`; on a 401 (the token
   * expired early, the manager restarted and forgot its secret, the key was revoked) the token is
   * dropped and the exchange runs once more with a fresh one.
   */
  async withToken<T>(manager: string, exchange: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    const first = await this.#token(manager);
    try {
      return await exchange({ authorization: `Bearer ${first}` });
    } catch (error) {
      if (!(error instanceof TransportError) || error.status !== 401) throw error;
      this.forget(manager);
      return exchange({ authorization: `Bearer ${await this.#token(manager)}` });
    }
  }

  /** Drops the token for `manager` (or all): the next exchange authenticates again. */
  forget(manager?: string): void {
    if (manager === undefined) this.#held.clear();
    else this.#held.delete(manager);
  }

  /** Whether a token for `manager` is held now (never the token itself). */
  holds(manager: string): boolean {
    const held = this.#held.get(manager);
    return held !== undefined && this.#o.clock.monotonicMs() < held.renewAtMs;
  }

  #token(manager: string): Promise<string> {
    const held = this.#held.get(manager);
    if (held && this.#o.clock.monotonicMs() < held.renewAtMs) return Promise.resolve(held.token);
    let pending = this.#inFlight.get(manager);
    if (!pending) {
      pending = this.#authenticate(manager).finally(() => this.#inFlight.delete(manager));
      this.#inFlight.set(manager, pending);
    }
    return pending;
  }

  async #authenticate(manager: string): Promise<string> {
    let answer = await this.#request(manager);
    const refusal = answer.status === 401 ? answer.body.error?.code : undefined;
    if (refusal === 'stale' && typeof answer.body.serverTimeMs === 'number' && Number.isSafeInteger(answer.body.serverTimeMs)) {
      this.#offsets.set(manager, answer.body.serverTimeMs - this.#o.clock.utcMs());
      answer = await this.#request(manager);
    } else if (refusal === 'replayed') {
      // Not a replay by this device: its nonce collided (a weak RNG right after boot). A fresh one.
      answer = await this.#request(manager);
    }
    const { status, body } = answer;
    const url = redactUrl(joinUrl(manager, AUTH_PATH));
    if (status === 200 && typeof body.token === 'string' && /^[\x21-\x7e]{1,2048}$/.test(body.token)) {
      const ttlMs = typeof body.ttlMs === 'number' && Number.isSafeInteger(body.ttlMs) && body.ttlMs > 0 ? body.ttlMs : 60_000;
      // Renew at 80% of the lifetime: an exchange never starts with a token about to expire.
      this.#held.set(manager, { token: body.token, renewAtMs: this.#o.clock.monotonicMs() + Math.floor(ttlMs * 0.8) });
      return body.token;
    }
    if (status === 200) throw new TransportError('badMessage', `${url} answered 200 without a usable token`, { status, retryable: true });
    const code = typeof body.status === 'string' ? body.status : typeof body.error?.code === 'string' ? body.error.code : undefined;
    const managerCode = code !== undefined && /^[A-Za-z]{1,32}$/.test(code) ? code : undefined;
    const why =
      managerCode === 'pending'
        ? 'the device key is pending: an admin must accept it on the manager'
        : managerCode === 'rejected'
          ? 'the device key was rejected by the manager'
          : typeof body.error?.message === 'string'
            ? redactText(body.error.message.slice(0, 200))
            : `status ${status}`;
    // A rejected key stays rejected until an admin changes it; everything else may pass later.
    const retryable = managerCode !== 'rejected' && (status === 401 || status === 408 || status === 429 || status >= 500);
    throw new TransportError('status', `device authentication at ${url} refused: ${why}`, { status, retryable, ...(managerCode ? { managerCode } : {}) });
  }

  async #request(manager: string): Promise<{ status: number; body: AuthAnswer }> {
    const { http, keystore, random, clock, timeoutMs, deadlineMs } = this.#o;
    const url = joinUrl(manager, AUTH_PATH);
    const time = clock.utcMs() + (this.#offsets.get(manager) ?? 0);
    const signed = await signedAuthRequest(keystore, await this.#o.deviceId(), random.bytes(16), Math.trunc(time));
    this.requests++;
    let response;
    let bytes: Uint8Array;
    try {
      response = await http.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', accept: 'application/json', [AUTH_SIGNATURE_HEADER]: signed.signature },
        body: signed.body,
        timeoutMs,
        ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      });
      bytes = await response.bytes(MAX_ANSWER_BYTES);
    } catch (error) {
      if (error instanceof NetworkError && error.code !== 'aborted')
        throw new TransportError(error.code === 'timeout' ? 'timeout' : error.code === 'tooLarge' ? 'tooLarge' : 'network', `${redactUrl(url)}: ${redactText(error.message)}`, {
          retryable: error.code !== 'tooLarge',
          cause: error,
        });
      throw error;
    }
    let body: AuthAnswer = {};
    try {
      const parsed = JSON.parse(utf8Decode(bytes)) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as AuthAnswer;
    } catch {
      // Not JSON (a proxy's error page): the status decides.
    }
    return { status: response.status, body };
  }
}
