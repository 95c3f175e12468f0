/**
 * Building and encoding the client's messages: the SyncHdr, package 1 (Alert 1200/1201 + DevInfo),
 * the SyncHdr Status, and encoding under the server's MaxMsgSize: commands that do not fit go to
 * the next message; a Results that does not fit is split (./message-split.ts): into its items, or
 * its single item into MoreData chunks.
 */
import { type BudgetResult, fitBudget } from '../syncml/budget.ts';
import { newSink } from '../syncml/sink-loader.ts';
import type { Alert, Command, Item, ItemCommand, Results, Status, SyncHdr, SyncMLMessage, SyncmlEncoding } from '../syncml/model.ts';
import { utf8Encode } from '../util/bytes.ts';
import { OmaDmError } from './errors.ts';
import type { DmTree } from './tree.ts';
import { loadOnce } from '../util/load-once.ts';

/** Splitting a Results that does not fit (./message-split.ts) is a lazy chunk: most answers fit one message. */
const loadSplit = loadOnce(() => import('./message-split.ts'));

export type DmVersion = '1.2' | '1.1';

/**
 * The Alert codes the client sends or reads. A `const enum` (inlined where used), not constants:
 * each top-level binding is a module variable and a name (an atom) in a QuickJS heap.
 */
export const enum AlertCode {
  serverInitiated = '1200',
  clientInitiated = '1201',
  nextMessage = '1222',
  abort = '1223',
  generic = '1226',
}

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
  const alert: Alert = { cmd: 'Alert', data: initiated === 'server' ? AlertCode.serverInitiated : AlertCode.clientInitiated };
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

/** The message's head under the budget, in the session's encoding (its sink loaded by the session: ../syncml/sink-loader.ts). */
export function withinBudget(message: SyncMLMessage, encoding: SyncmlEncoding, maxMsgSize: number): BudgetResult<string | Uint8Array> {
  return fitBudget(message, newSink(encoding), { maxMsgSize });
}

/**
 * Encodes as many commands as fit `maxMsgSize` (CmdIDs from 1 in this message). Final is written
 * only when every command went in and `final` is asked.
 */
export async function encodeMessage(hdr: SyncHdr, commands: readonly Command[], encoding: SyncmlEncoding, maxMsgSize: number, final: boolean): Promise<Encoded> {
  // Copies carry the CmdIDs; `origin` maps each back to the caller's command (a chunk to its Results).
  // Loops, not map/forEach callbacks: each callback is one more function in a QuickJS heap.
  const origin = new Map<Command, Command>();
  let queue: Command[] = [];
  for (const command of commands) {
    const copy = { ...command };
    origin.set(copy, command);
    queue.push(copy);
  }
  for (;;) {
    for (let i = 0; i < queue.length; i++) (queue[i] as Command).cmdID = String(i + 1);
    const message: SyncMLMessage = { hdr, body: { commands: queue, final } };
    const result = withinBudget(message, encoding, maxMsgSize);
    const bytes = typeof result.encoded === 'string' ? utf8Encode(result.encoded) : result.encoded;
    const first = result.remaining[0];
    if (first?.cmd === 'Results') {
      // The Results that did not fit: its first items now (a ?list= answer), or a chunk of its one item (large object).
      const split = (await loadSplit()).splitToFit(hdr, queue.slice(0, result.included), first as Results, encoding, maxMsgSize);
      if (split) {
        queue = [...queue.slice(0, result.included), split[0], split[1], ...result.remaining.slice(1)];
        continue;
      }
    }
    if (result.included === 0 && result.remaining.length > 0) throw new OmaDmError('protocol', `a ${first?.cmd} does not fit MaxMsgSize ${maxMsgSize}`);
    const sent = new Map<string, Command>();
    for (const command of queue.slice(0, result.included)) sent.set(command.cmdID as string, origin.get(command) ?? command);
    const remaining: Command[] = [];
    for (const command of result.remaining) remaining.push(origin.get(command) ?? command);
    return { bytes, sent, remaining };
  }
}
