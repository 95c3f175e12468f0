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
 */
import { CBOR_MEDIA_TYPE, type ConnectionAck, type ReleaseRequest, type TargetRecord, releaseRequestSchema, targetRecordSchema } from '../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../agent/util/cbor.ts';
import type { TargetRecords } from './records.ts';
import { wireRecord } from './records.ts';
import { HttpError, type ManagerResponse, cborAnswer, normaliseAddress } from './wire.ts';

export type MoveResult = ConnectionAck['moves'][number]['result'];

/** The subset of `fetch` a move needs; tests pass one that calls another manager in-process. */
export interface PeerResponse {
  status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}
export type FetchPeer = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array; signal?: AbortSignal },
) => Promise<PeerResponse>;


/** A TargetRecord with a thousand-odd packages is well under this. */
const MAX_PEER_ANSWER = 8 * 1024 * 1024;

export interface MoveContext {
  address: string;
  records: TargetRecords;
  fetchPeer: FetchPeer;
  peerTimeoutMs: number;
  utcMs(): number;
  log(line: string): void;
}

export async function runMove(context: MoveContext, targetId: string, from: string): Promise<MoveResult> {
  const base = normaliseAddress(from);
  const url = `${base}/dm/v1/targets/${encodeURIComponent(targetId)}`;
  let remote: TargetRecord;
  try {
    const answer = await call(context, url, { method: 'GET', headers: { accept: CBOR_MEDIA_TYPE } });
    if (answer.status === 404) {
      context.log(`move ${targetId}: ${base} has no record (none)`);
      return 'none';
    }
    if (answer.status !== 200) throw new Error(`GET answered ${answer.status}`);
    remote = targetRecordSchema.parse(decodeCbor(answer.body));
    if (remote.target !== targetId) throw new Error(`GET answered the record of ${JSON.stringify(remote.target)}`);
  } catch (error) {
    context.log(`move ${targetId}: ${base} unreachable: ${(error as Error).message}`);
    return 'unreachable';
  }

  const own = context.records.get(targetId);
  const result: MoveResult = own !== undefined && own.referenceCounter >= remote.referenceCounter ? 'kept' : 'moved';
  if (result === 'moved') context.records.adopt(remote, base, context.utcMs());

  const release: ReleaseRequest = { type: 'release', target: targetId, movedTo: context.address, referenceCounter: remote.referenceCounter };
  try {
    const answer = await call(context, `${url}/release`, { method: 'POST', headers: { 'content-type': CBOR_MEDIA_TYPE, accept: CBOR_MEDIA_TYPE }, body: encodeCbor(release) });
    if (answer.status !== 200) throw new Error(`release answered ${answer.status}`);
  } catch (error) {
    context.log(`move ${targetId}: ${base} did not release: ${(error as Error).message}`);
    return 'unreachable';
  }
  context.log(`move ${targetId}: ${result} (${base} counter ${remote.referenceCounter}, own ${own?.referenceCounter ?? 'none'})`);
  return result;
}

async function call(context: MoveContext, url: string, init: Parameters<FetchPeer>[1]): Promise<{ status: number; body: Uint8Array }> {
  const response = await context.fetchPeer(url, { ...init, signal: AbortSignal.timeout(context.peerTimeoutMs) });
  const buffer = await response.arrayBuffer();
  if (buffer.byteLength > MAX_PEER_ANSWER) throw new Error(`answer of ${buffer.byteLength} bytes is too large`);
  return { status: response.status, body: new Uint8Array(buffer) };
}

/** Serves `GET /dm/v1/targets/<id>` and `POST /dm/v1/targets/<id>/release` (the previous manager's side). */
export function servePeer(context: MoveContext, method: string, rest: string[], body: unknown): ManagerResponse {
  const [id, action, ...extra] = rest;
  if (id === undefined || extra.length > 0 || (action !== undefined && action !== 'release')) throw new HttpError(404, 'notFound', 'no such target route');
  if (action === undefined) {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', 'use GET', { allow: 'GET, HEAD' });
    const record = context.records.get(id);
    if (!record) throw new HttpError(404, 'unknownTarget', `no record for target ${JSON.stringify(id)}`);
    return cborAnswer(200, wireRecord(record, context.address));
  }
  if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', 'use POST', { allow: 'POST' });
  const release = releaseRequestSchema.parse(body);
  if (release.target !== id) throw new HttpError(400, 'badMessage', `target: ${JSON.stringify(release.target)} does not match the URL`);
  const outcome = context.records.release(id, normaliseAddress(release.movedTo), release.referenceCounter, context.utcMs());
  if (outcome === 'unknown') throw new HttpError(404, 'unknownTarget', `no record for target ${JSON.stringify(id)}`);
  if (outcome === 'newer') throw new HttpError(409, 'newerRecord', `target ${JSON.stringify(id)} has a record newer than counter ${release.referenceCounter}: fetch it again`);
  context.log(`released ${id} to ${release.movedTo}`);
  return cborAnswer(200, { type: 'ack', manager: { address: context.address, utcMs: context.utcMs() } });
}
