/**
 * The move (seed 004), both sides. When an agent's connection names a previous manager for a
 * target, this manager (the new one):
 *   1. GETs `<previous>/dm/v1/targets/<id>` (a CBOR TargetRecord);
 *   2. keeps, of that record and its own (if any), the one with the higher reference counter
 *      (`moved` if the peer's, `kept` if its own; a tie keeps its own: same stamp, same record);
 *   3. POSTs `<previous>/dm/v1/targets/<id>/release` so the previous manager marks the target moved.
 * The peer answering 404 means it has nothing to hand over: `none`. A peer that is down, slow,
 * answers garbage, or refuses the release (its record moved on meanwhile) gives `unreachable`; the
 * caller then leaves its own record untouched so that the agent's next connection, which names the
 * previous manager again, retries the move from the same starting point. Retrying is safe: after an
 * adopted record, the retry finds equal counters (`kept`) and only repeats the release.
 *
 * The previous manager keeps answering GET after the release, with `movedTo` set, so a late peer
 * still sees the data and where it went.
 *
 * Trust: only managers on the peer allow-list (peers.ts) are ever called, each call carries the
 * shared peer secret (`Authorization: Bearer`), and both peer routes here refuse callers without
 * it. A peer's answer is read as a stream, capped (8 MiB) and bounded in time (`peerTimeoutMs`
 * covers headers and body), and redirects are not followed: an allowed peer cannot bounce the
 * manager elsewhere. The move happens in two steps (`lookUpPeer`, then `finishMove`) so that the
 * caller can check every fetched record's owner before anything changes on either side.
 */
import { CBOR_MEDIA_TYPE, type ConnectionAck, type ReleaseRequest, type TargetRecord, releaseRequestSchema, targetRecordSchema } from '../agent/delivery/messages.ts';
import { concatBytes } from '../agent/util/bytes.ts';
import { decodeCbor, encodeCbor } from '../agent/util/cbor.ts';
import { bearerHeader, checkBearer } from './auth.ts';
import type { Peers } from './peers.ts';
import type { TargetRecords } from './records.ts';
import { wireRecord } from './records.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, cborAnswer, normaliseAddress } from './wire.ts';

export type MoveResult = ConnectionAck['moves'][number]['result'];

/** The subset of `fetch` a move needs; tests pass one that calls another manager in-process. */
export interface PeerResponse {
  status: number;
  /** Read as a stream, chunk by chunk (global fetch's `Response.body` is one). */
  body: AsyncIterable<Uint8Array> | null;
}
export type FetchPeer = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array; signal: AbortSignal; redirect: 'manual' },
) => Promise<PeerResponse>;

/** Global fetch, without following redirects (the caller sees a 3xx and gives up). */
export const fetchPeerOverHttp: FetchPeer = async (url, init) => {
  const response = await fetch(url, init);
  return { status: response.status, body: response.body as AsyncIterable<Uint8Array> | null };
};

/** A TargetRecord with a thousand-odd packages is well under this. */
export const MAX_PEER_ANSWER = 8 * 1024 * 1024;
/** The realm of the peer secret in 401 answers. */
const PEER_REALM = 'dm-manager-peers';

export interface MoveContext {
  address: string;
  records: TargetRecords;
  fetchPeer: FetchPeer;
  /** Whole-call deadline of each peer call: connect, headers and body. */
  peerTimeoutMs: number;
  /** The managers this one may call. */
  peers: Peers;
  /** Shared by the managers of one deployment; without it the peer routes are closed and no peer is called. */
  peerSecret: string | undefined;
  /** The highest reference counter this manager accepts (its UTC plus the tolerance). */
  maxCounter(): number;
  utcMs(): number;
  log(line: string): void;
}

/** What the previous manager has for a target: nothing to move (`none`), no answer (`unreachable`), or its record. */
export type PeerLookup = { result: 'none' | 'unreachable' } | { result: 'record'; remote: TargetRecord };

/** Step 1: GET the target's record from `from`, if `from` is an allowed peer (else `none`: never contacted). */
export async function lookUpPeer(context: MoveContext, targetId: string, from: string): Promise<PeerLookup> {
  if (context.peerSecret === undefined || !context.peers.has(from)) {
    context.log(`move ${targetId}: the previous manager is not on the peer list: not contacted (none)`);
    return { result: 'none' };
  }
  const base = normaliseAddress(from);
  try {
    const answer = await call(context, recordUrl(base, targetId), { method: 'GET', headers: { accept: CBOR_MEDIA_TYPE } });
    if (answer.status === 404) {
      context.log(`move ${targetId}: ${base} has no record (none)`);
      return { result: 'none' };
    }
    if (answer.status !== 200) throw new Error(`GET answered ${answer.status}`);
    const remote = targetRecordSchema.parse(decodeCbor(answer.body));
    if (remote.target !== targetId) throw new Error(`GET answered the record of ${JSON.stringify(remote.target)}`);
    if (remote.referenceCounter > context.maxCounter()) throw new Error(`GET answered an absurd reference counter ${remote.referenceCounter}`);
    return { result: 'record', remote };
  } catch (error) {
    context.log(`move ${targetId}: ${base} unreachable: ${(error as Error).message}`);
    return { result: 'unreachable' };
  }
}

/** Step 2: keep the newer of the peer's record and ours, then ask the peer to release the target. */
export async function finishMove(context: MoveContext, targetId: string, from: string, remote: TargetRecord): Promise<MoveResult> {
  const base = normaliseAddress(from);
  const own = context.records.get(targetId);
  const result: MoveResult = own !== undefined && own.referenceCounter >= remote.referenceCounter ? 'kept' : 'moved';
  if (result === 'moved') context.records.adopt(remote, base, context.utcMs());

  const release: ReleaseRequest = { type: 'release', target: targetId, movedTo: context.address, referenceCounter: remote.referenceCounter };
  try {
    const headers = { 'content-type': CBOR_MEDIA_TYPE, accept: CBOR_MEDIA_TYPE };
    const answer = await call(context, `${recordUrl(base, targetId)}/release`, { method: 'POST', headers, body: encodeCbor(release) });
    if (answer.status !== 200) throw new Error(`release answered ${answer.status}`);
  } catch (error) {
    context.log(`move ${targetId}: ${base} did not release: ${(error as Error).message}`);
    return 'unreachable';
  }
  context.log(`move ${targetId}: ${result} (${base} counter ${remote.referenceCounter}, own ${own?.referenceCounter ?? 'none'})`);
  return result;
}

/** Both steps, for a caller with nothing to check in between. */
export async function runMove(context: MoveContext, targetId: string, from: string): Promise<MoveResult> {
  const lookup = await lookUpPeer(context, targetId, from);
  return lookup.result === 'record' ? finishMove(context, targetId, from, lookup.remote) : lookup.result;
}

const recordUrl = (base: string, targetId: string): string => `${base}/dm/v1/targets/${encodeURIComponent(targetId)}`;

async function call(context: MoveContext, url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array }): Promise<{ status: number; body: Uint8Array }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no complete answer within ${context.peerTimeoutMs} ms`)), context.peerTimeoutMs);
  try {
    const headers = { ...init.headers, ...bearerHeader(context.peerSecret!) };
    const response = await raceAbort(context.fetchPeer(url, { ...init, headers, signal: controller.signal, redirect: 'manual' }), controller.signal);
    const body = await readCapped(response.body, MAX_PEER_ANSWER, controller.signal);
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
    // Cancels whatever is still in flight (a body we stopped reading at the cap).
    controller.abort(new Error('done'));
  }
}

/**
 * The body, chunk by chunk, refused as soon as it passes `maxBytes` (never buffered whole first)
 * or when `signal` aborts (the deadline), even if the source ignores the signal.
 */
export async function readCapped(body: AsyncIterable<Uint8Array> | null, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const iterator = body[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let total = 0;
  let finished = false;
  try {
    for (;;) {
      const step = await raceAbort(iterator.next(), signal);
      if (step.done) break;
      total += step.value.byteLength;
      if (total > maxBytes) throw new Error(`answer larger than ${maxBytes} bytes`);
      parts.push(step.value);
    }
    finished = true;
  } finally {
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
  return concatBytes(parts);
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Serves `GET /dm/v1/targets/<id>` and `POST /dm/v1/targets/<id>/release` (the previous manager's
 * side), to callers that present the peer secret.
 */
export function servePeer(context: MoveContext, request: ManagerRequest, rest: string[], readBody: () => unknown): ManagerResponse {
  const method = request.method;
  if (context.peerSecret === undefined) throw new HttpError(403, 'peersDisabled', 'this manager has no peer secret: the move routes are closed');
  checkBearer(request.headers, context.peerSecret, PEER_REALM, 'peer secret');
  const [id, action, ...extra] = rest;
  if (id === undefined || extra.length > 0 || (action !== undefined && action !== 'release')) throw new HttpError(404, 'notFound', 'no such target route');
  if (action === undefined) {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', 'use GET', { allow: 'GET, HEAD' });
    const record = context.records.get(id);
    if (!record) throw new HttpError(404, 'unknownTarget', `no record for target ${JSON.stringify(id)}`);
    return cborAnswer(200, wireRecord(record, context.address));
  }
  if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', 'use POST', { allow: 'POST' });
  const release = releaseRequestSchema.parse(readBody());
  if (release.target !== id) throw new HttpError(400, 'badMessage', `target: ${JSON.stringify(release.target)} does not match the URL`);
  const outcome = context.records.release(id, normaliseAddress(release.movedTo), release.referenceCounter, context.utcMs());
  if (outcome === 'unknown') throw new HttpError(404, 'unknownTarget', `no record for target ${JSON.stringify(id)}`);
  if (outcome === 'newer') throw new HttpError(409, 'newerRecord', `target ${JSON.stringify(id)} has a record newer than counter ${release.referenceCounter}: fetch it again`);
  context.log(`released ${id} to ${release.movedTo}`);
  return cborAnswer(200, { type: 'ack', manager: { address: context.address, utcMs: context.utcMs() } });
}
