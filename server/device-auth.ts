/**
 * Device authentication on the reference manager (Mender-style auth requests): a device proves it
 * holds its key by signing a request; a key nobody accepted yet stays *pending* (401), an admin
 * accepts or rejects it, an accepted key gets a short-lived bearer token (HMAC over device id, key
 * id and expiry). Refused: a bad signature, a request too far from this server's clock, a nonce
 * seen before (replay), a rejected key, and any token not made here or expired.
 *
 * An admin may also accept a key before the device ever asks (Mender's "preauthorization"): the
 * demo and the test rigs do that with the key the device prints. A stale request is answered with
 * this server's time, so a device whose clock is wrong (a board that boots at 1970) signs a fresh
 * request with it: the time only bounds how long nonces are remembered, the signature still proves
 * the key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { parseJson } from '../agent/trust/canonical-json.ts';
import { TrustError } from '../agent/trust/errors.ts';
import { AUTH_SIGNATURE_HEADER, type AuthRequestBody } from '../agent/trust/device-auth.ts';
import { fromHex } from '../agent/util/bytes.ts';
import { type ManagerResponse, jsonAnswer, jsonError } from './wire.ts';

export type KeyStatus = 'pending' | 'accepted' | 'rejected';

export interface AuthAnswer {
  status: number;
  body: { token?: string; expiresMs?: number; ttlMs?: number; serverTimeMs?: number; status?: KeyStatus; error?: { code: string; message: string } };
}

export interface DeviceAuthOptions {
  now?: () => number;
  /** Token lifetime (default 15 min). */
  tokenTtlMs?: number;
  /** How far a request's time may be from this server's clock (default 5 min); nonces are kept this long. */
  skewMs?: number;
  /** Most devices × keys remembered (default 100 000): pending requests cannot grow memory without bound. */
  maxKeys?: number;
}

const MAX_BODY = 1024;
const refuse = (status: number, code: string, message: string): AuthAnswer => ({ status, body: { error: { code, message } } });

export class DeviceAuth {
  readonly #secret = randomBytes(32);
  readonly #keys = new Map<string, KeyStatus>(); // `${deviceId}\n${publicKey}`
  readonly #nonces = new Map<string, number>(); // nonce → expiry
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #skew: number;
  readonly #maxKeys: number;

  constructor(options: DeviceAuthOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#ttl = options.tokenTtlMs ?? 15 * 60_000;
    this.#skew = options.skewMs ?? 5 * 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** POST /auth/v1/requests */
  request(headers: Record<string, string>, bodyBytes: Uint8Array): AuthAnswer {
    if (bodyBytes.length > MAX_BODY) return refuse(413, 'tooLarge', `an auth request is at most ${MAX_BODY} bytes`);
    const signature = headers[AUTH_SIGNATURE_HEADER];
    let body: AuthRequestBody;
    try {
      body = readBody(parseJson(bodyBytes, { maxBytes: MAX_BODY, maxDepth: 2, maxValues: 16 }));
    } catch (error) {
      return refuse(400, 'badRequest', error instanceof Error ? error.message : 'malformed');
    }
    let valid = false;
    try {
      valid = typeof signature === 'string' && /^[0-9a-f]{128}$/.test(signature) && ed25519.verify(fromHex(signature), bodyBytes, fromHex(body.publicKey));
    } catch {
      valid = false;
    }
    if (!valid) return refuse(401, 'badSignature', 'the request is not signed by the key it names');
    const now = this.#now();
    if (Math.abs(now - body.timeMs) > this.#skew) return { status: 401, body: { serverTimeMs: now, error: { code: 'stale', message: 'the request time is too far from the server clock' } } };
    this.#forgetOldNonces(now);
    if (this.#nonces.has(body.nonce)) return refuse(401, 'replayed', 'this request was seen before');
    this.#nonces.set(body.nonce, now + 2 * this.#skew);
    const id = `${body.deviceId}\n${body.publicKey}`;
    let status = this.#keys.get(id);
    if (!status) {
      if (this.#keys.size >= this.#maxKeys) return refuse(503, 'full', 'too many pending devices');
      this.#keys.set(id, (status = 'pending'));
    }
    if (status !== 'accepted') return { status: 401, body: { status, error: { code: status, message: `device key is ${status}` } } };
    const expiresMs = now + this.#ttl;
    return { status: 200, body: { token: this.#token(body.deviceId, body.publicKey, expiresMs), expiresMs, ttlMs: this.#ttl, status } };
  }

  /** Admin: accept a device key before the device asks (Mender's preauthorization). False when full. */
  preauthorize(deviceId: string, publicKey: string): boolean {
    const id = `${deviceId}\n${publicKey}`;
    if (!this.#keys.has(id) && this.#keys.size >= this.#maxKeys) return false;
    this.#keys.set(id, 'accepted');
    return true;
  }

  /** Admin: accept or reject a device's key (it must have asked first). */
  setStatus(deviceId: string, publicKey: string, status: KeyStatus): boolean {
    const id = `${deviceId}\n${publicKey}`;
    if (!this.#keys.has(id)) return false;
    this.#keys.set(id, status);
    return true;
  }

  /** The device keys and their status, for the admin. */
  list(): { deviceId: string; publicKey: string; status: KeyStatus }[] {
    return [...this.#keys].map(([id, status]) => {
      const [deviceId, publicKey] = id.split('\n') as [string, string];
      return { deviceId, publicKey, status };
    });
  }

  /** The device id a bearer token stands for; undefined for a forged, expired or revoked one. */
  verifyToken(token: string | undefined): string | undefined {
    if (token === undefined) return undefined;
    const [payload, mac, ...rest] = token.split('.');
    if (!payload || !mac || rest.length > 0 || payload.length > 512) return undefined;
    const expected = this.#mac(payload);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const { d, k, e } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { d: string; k: string; e: number };
    if (e <= this.#now() || this.#keys.get(`${d}\n${k}`) !== 'accepted') return undefined;
    return d;
  }

  #token(deviceId: string, publicKey: string, expiresMs: number): string {
    const payload = Buffer.from(JSON.stringify({ d: deviceId, k: publicKey, e: expiresMs })).toString('base64url');
    return `${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#secret).update(payload).digest();
  }

  #forgetOldNonces(now: number): void {
    for (const [nonce, expiry] of this.#nonces) if (expiry <= now) this.#nonces.delete(nonce);
  }
}

function readBody(value: unknown): AuthRequestBody {
  const o = value as Partial<AuthRequestBody> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TrustError('malformed', 'the body is an object');
  const { deviceId, publicKey, nonce, timeMs } = o;
  if (typeof deviceId !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(deviceId)) throw new TrustError('malformed', 'deviceId: 1-128 printable characters');
  if (typeof publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(publicKey)) throw new TrustError('malformed', 'publicKey: 64 hex digits');
  if (typeof nonce !== 'string' || !/^[0-9a-f]{32}$/.test(nonce)) throw new TrustError('malformed', 'nonce: 32 hex digits');
  if (typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs)) throw new TrustError('malformed', 'timeMs: an integer');
  return { deviceId, publicKey, nonce, timeMs };
}

/**
 * Routes: `POST /auth/v1/requests` (devices) and, behind the admin token checked by the router,
 * `GET /api/auth/devices`, `PUT /api/auth/devices/<deviceId>/<publicKey>` with
 * `{"status": "accepted" | "rejected"}`, and `POST /api/auth/devices` with `{"deviceId", "publicKey"}`
 * (preauthorization: the key is accepted before the device asks).
 */
export function serveDeviceAuth(auth: DeviceAuth, request: { method: string; headers: Record<string, string>; body: Uint8Array }, segments: string[]): ManagerResponse {
  const [root, a, b, deviceId, publicKey, ...rest] = segments;
  if (root === 'auth' && a === 'v1' && b === 'requests' && segments.length === 3) {
    if (request.method !== 'POST') return jsonError(405, 'methodNotAllowed', 'use POST', { allow: 'POST' });
    const answer = auth.request(request.headers, request.body);
    return jsonAnswer(answer.status, answer.body);
  }
  if (root === 'api' && a === 'auth' && b === 'devices' && rest.length === 0) {
    if (deviceId === undefined && request.method === 'GET') return jsonAnswer(200, { devices: auth.list() });
    if (deviceId === undefined && request.method === 'POST') return preauthorize(auth, request.body);
    if (deviceId !== undefined && publicKey !== undefined && request.method === 'PUT') {
      let status: unknown;
      try {
        status = (JSON.parse(new TextDecoder().decode(request.body)) as { status?: unknown }).status;
      } catch {
        return jsonError(400, 'badJson', 'the body is {"status": "accepted" | "rejected"}');
      }
      if (status !== 'accepted' && status !== 'rejected') return jsonError(400, 'badStatus', 'status must be accepted or rejected');
      return auth.setStatus(deviceId, publicKey, status) ? jsonAnswer(200, { deviceId, publicKey, status }) : jsonError(404, 'unknownKey', 'no authentication request from that device key');
    }
  }
  return jsonError(404, 'notFound', 'no such auth route');
}

function preauthorize(auth: DeviceAuth, body: Uint8Array): ManagerResponse {
  let parsed: { deviceId?: unknown; publicKey?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder().decode(body)) as typeof parsed;
  } catch {
    return jsonError(400, 'badJson', 'the body is {"deviceId": "...", "publicKey": "<64 hex digits>"}');
  }
  const { deviceId, publicKey } = parsed ?? {};
  if (typeof deviceId !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(deviceId)) return jsonError(400, 'badDeviceId', 'deviceId: 1-128 printable characters');
  if (typeof publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(publicKey)) return jsonError(400, 'badPublicKey', 'publicKey: 64 lower-case hex digits (Ed25519)');
  if (!auth.preauthorize(deviceId, publicKey)) return jsonError(503, 'full', 'too many device keys');
  return jsonAnswer(201, { deviceId, publicKey, status: 'accepted' });
}
