/**
 * Building and encoding the client's messages: the SyncHdr, package 1 (Alert 1200/1201 + DevInfo),
 * the SyncHdr Status, and encoding under the server's MaxMsgSize: commands that do not fit go to
 * the next message; a single Results too large for any message is split into MoreData chunks.
 */
import { type BudgetResult, fitBudget } from '../syncml/budget.ts';
import { newSink } from '../syncml/sink-loader.ts';
import type { Alert, Command, Item, ItemCommand, Results, Status, SyncHdr, SyncMLMessage, SyncmlEncoding } from '../syncml/model.ts';
import { utf8Encode } from '../util/bytes.ts';
import { OmaDmError } from './errors.ts';
import type { DmTree } from './tree.ts';

export type DmVersion = '1.2' | '1.1';

export const ALERT_SERVER_INITIATED = '1200';
export const ALERT_CLIENT_INITIATED = '1201';
export const ALERT_NEXT_MESSAGE = '1222';
export const ALERT_ABORT = '1223';
export const ALERT_GENERIC = '1226';

export interface HeaderFields {
  version: DmVersion;
  sessionId: string;
  msgId: number;
  /** The server's URL (or its RespURI). */
  target: string;
  /** The device id; `sourceName` the client's auth name. */
  source: string;
  sourceName?: string;
  cred?: SyncHdr['cred'];
  maxMsgSize: number;
  maxObjSize?: number;
}

export function header(fields: HeaderFields): SyncHdr {
  return {
    verDTD: fields.version,
    verProto: `DM/${fields.version}`,
    sessionID: fields.sessionId,
    msgID: String(fields.msgId),
    target: { locURI: fields.target },
    source: { locURI: fields.source, ...(fields.sourceName ? { locName: fields.sourceName } : {}) },
    ...(fields.cred ? { cred: fields.cred } : {}),
    meta: { maxMsgSize: String(fields.maxMsgSize), ...(fields.maxObjSize ? { maxObjSize: String(fields.maxObjSize) } : {}) },
  };
}

/** Package 1's commands: the session alert and the Replace of ./DevInfo (DevId, Man, Mod, DmV, Lang). */
export function packageOne(tree: DmTree, initiated: 'server' | 'client', extra: readonly Command[] = []): Command[] {
  const tx = tree.begin();
  const items: Item[] = [];
  for (const name of ['DevId', 'Man', 'Mod', 'DmV', 'Lang']) {
    const node = tx.get(`DevInfo/${name}`);
    if (node?.value !== undefined) items.push({ source: { locURI: `./DevInfo/${name}` }, meta: { format: node.format, type: node.type ?? 'text/plain' }, data: node.value });
  }
  const alert: Alert = { cmd: 'Alert', data: initiated === 'server' ? ALERT_SERVER_INITIATED : ALERT_CLIENT_INITIATED };
  const replace: ItemCommand = { cmd: 'Replace', items };
  return [alert, replace, ...extra];
}

/** The Status of the server's SyncHdr (CmdRef 0). */
export function headerStatus(message: SyncMLMessage, code: number, chal?: Status['chal']): Status {
  const hdr = message.hdr;
  return {
    cmd: 'Status',
    msgRef: hdr?.msgID ?? '0',
    cmdRef: '0',
    refCmd: 'SyncHdr',
    targetRefs: [hdr?.target?.locURI ?? ''],
    sourceRefs: [hdr?.source?.locURI ?? ''],
    ...(chal ? { chal } : {}),
    data: String(code),
  };
}

export interface Encoded {
  bytes: Uint8Array;
  /** The commands in this message by the CmdID they got (the caller's objects, for matching Status). */
  sent: Map<string, Command>;
  /** Commands for the next message (the server asks for it with Alert 1222). */
  remaining: Command[];
}

function dataLength(value: Item['data']): number {
  return typeof value === 'string' ? value.length : value instanceof Uint8Array ? value.length : 0;
}

/** Splits a Results whose single item is larger than `size` units of data: first chunk + the rest. */
function splitResults(results: Results, size: number): [Results, Results] | undefined {
  const item = results.items?.[0];
  if (!item || results.items?.length !== 1 || size < 1 || dataLength(item.data) <= size) return undefined;
  const data = item.data as string | Uint8Array;
  const head: Results = { ...results, items: [{ ...item, data: data.slice(0, size), moreData: true }] };
  const rest: Results = { ...results, items: [{ ...item, data: data.slice(size), meta: { ...item.meta } }] };
  // Size goes only with the first chunk (DM_Protocol 1.2 §6.4.3.1).
  delete rest.items?.[0]?.meta?.size;
  if (rest.items?.[0]?.meta && Object.keys(rest.items[0].meta).length === 0) delete rest.items[0].meta;
  return [head, rest];
}

/** The message's head under the budget, in the session's encoding (its sink loaded by the session: ../syncml/sink-loader.ts). */
function withinBudget(message: SyncMLMessage, encoding: SyncmlEncoding, maxMsgSize: number): BudgetResult<string | Uint8Array> {
  return fitBudget(message, newSink(encoding), { maxMsgSize });
}

/**
 * Encodes as many commands as fit `maxMsgSize` (CmdIDs from 1 in this message). Final is written
 * only when every command went in and `final` is asked.
 */
export function encodeMessage(hdr: SyncHdr, commands: readonly Command[], encoding: SyncmlEncoding, maxMsgSize: number, final: boolean): Encoded {
  // Copies carry the CmdIDs; `origin` maps each back to the caller's command (a chunk to its Results).
  const origin = new Map<Command, Command>();
  let queue = commands.map((command) => {
    const copy = { ...command };
    origin.set(copy, command);
    return copy;
  });
  for (;;) {
    queue.forEach((command, i) => (command.cmdID = String(i + 1)));
    const message: SyncMLMessage = { hdr, body: { commands: queue, final } };
    const result = withinBudget(message, encoding, maxMsgSize);
    const bytes = typeof result.encoded === 'string' ? utf8Encode(result.encoded) : result.encoded;
    const first = result.remaining[0];
    if (first?.cmd === 'Results') {
      // The Results that did not fit: its first items now (a ?list= answer), or a chunk of its one item (large object).
      const before = queue.slice(0, result.included);
      const split = (first as Results).items!.length > 1 ? splitItems(hdr, before, first as Results, encoding, maxMsgSize) : shrinkToFit(hdr, before, first, encoding, maxMsgSize);
      if (split) {
        queue = [...queue.slice(0, result.included), split[0], split[1], ...result.remaining.slice(1)];
        continue;
      }
    }
    if (result.included === 0 && result.remaining.length > 0) throw new OmaDmError('protocol', `a ${first?.cmd} does not fit MaxMsgSize ${maxMsgSize}`);
    const sent = new Map<string, Command>();
    for (const command of queue.slice(0, result.included)) sent.set(command.cmdID as string, origin.get(command) ?? command);
    return { bytes, sent, remaining: result.remaining.map((command) => origin.get(command) ?? command) };
  }
}

/** Would these commands (renumbered) fit one message? */
function fits(hdr: SyncHdr, commands: readonly Command[], encoding: SyncmlEncoding, maxMsgSize: number): boolean {
  const message: SyncMLMessage = { hdr, body: { commands: commands.map((c, i) => ({ ...c, cmdID: String(i + 1) })), final: false } };
  const result = withinBudget(message, encoding, maxMsgSize);
  return result.remaining.length === 0;
}

/** A Results of several items that does not fit: as many whole items as fit now, the rest (same CmdRef) later. */
function splitItems(hdr: SyncHdr, before: Command[], results: Results, encoding: SyncmlEncoding, maxMsgSize: number): [Results, Results] | undefined {
  const items = results.items ?? [];
  const part = (from: number, to: number): Results => ({ ...results, items: items.slice(from, to) });
  let count = 0;
  while (count + 1 < items.length && fits(hdr, [...before, part(0, count + 1)], encoding, maxMsgSize)) count++;
  // Not even one item fits beside `before`: split off the first alone (the next round chunks it or sends it next message).
  return [part(0, Math.max(1, count)), part(Math.max(1, count), items.length)];
}

/** The largest first chunk of `results` that fits after `before`: halve until it fits, then bisect up. */
function shrinkToFit(hdr: SyncHdr, before: Command[], results: Results, encoding: SyncmlEncoding, maxMsgSize: number): [Results, Results] | undefined {
  const total = dataLength(results.items?.[0]?.data);
  const chunkFits = (size: number) => {
    const split = splitResults(results, size);
    return split !== undefined && fits(hdr, [...before, split[0]], encoding, maxMsgSize);
  };
  let low = Math.floor(total / 2);
  while (low >= 1 && !chunkFits(low)) low = Math.floor(low / 2);
  if (low < 1) return undefined;
  let high = Math.min(low * 2, total - 1);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (chunkFits(mid)) low = mid;
    else high = mid - 1;
  }
  return splitResults(results, low);
}
