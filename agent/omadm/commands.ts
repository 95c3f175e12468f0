/**
 * The DPU: runs the server's commands of one message against the DM tree and answers each with a
 * Status (and Get with Results). The ACL check happens here, before a CSP sees the command
 * (denied → 425). Outside Atomic each command commits its own store batch; an Atomic commits once
 * or not at all. What a FUMO cycle (Replace, Exec) does not send is in lazy chunks: Get (get.ts),
 * node creation, the other structure edits and server Alerts (rare-commands.ts), containers, large objects.
 */
import type { Command, DataValue, Exec, Item, ItemCommand, Results, Status } from '../syncml/model.ts';
import { dataText } from '../syncml/model.ts';
import { utf8Decode, utf8Encode } from '../util/bytes.ts';
import { type AclCommand, aclAllows } from './acl.ts';
import type { UserInteraction } from './alerts.ts';
import type { Csp, CspRegistry } from './csp/api.ts';
import { type AccessType, checkDescription } from './ddf.ts';
import { DmStatusError } from './errors.ts';
import type { LargeObjectAssembler } from './large-object.ts';
import { type DmNode, type DmTree, normalizePath, type NodeValue, parentOf, type TreeTransaction } from './tree.ts';
import { loadOnce } from '../util/load-once.ts';

/** Get (get.ts) is a lazy chunk: a FUMO cycle reads nothing. */
const loadGet = loadOnce(() => import('./get.ts'));
/** So are large objects (large-object.ts): loaded by the first MoreData chunk. */
const loadLargeObjects = loadOnce(() => import('./large-object.ts'));
/** And Atomic / Sequence (containers.ts): loaded by the first one. */
const loadContainers = loadOnce(() => import('./containers.ts'));
/** And Add of a new node, Delete, Copy, ACL edits and Alerts (rare-commands.ts): loaded by the first one. */
const loadRare = loadOnce(() => import('./rare-commands.ts'));


export interface ProcessorOptions {
  tree: DmTree;
  csps: CspRegistry;
  /** The server of this session (its DMAcc ServerID): the id ACLs are checked against. */
  serverId: string;
  ui: UserInteraction;
  /** The MaxObjSize this client advertises: larger incoming objects get 413. */
  maxObjSize?: number;
}

export type Response = Status | Results;

/** The processor as containers.ts sees it (the processor itself: its `command` and `status`). */
export interface Runner {
  command(command: Command, msgRef: string, tx: TreeTransaction, out: Response[]): Promise<number>;
  status(command: Command, msgRef: string, code: number, target?: string): Status;
}

/** The processor's checks as get.ts and rare-commands.ts use them (the processor itself). */
export interface Checks {
  allowed(tx: TreeTransaction, path: string, command: AclCommand): void;
  described(tx: TreeTransaction, op: AccessType, path: string, node: DmNode | undefined, withParent?: boolean): void;
  csp(path: string): Csp | undefined;
}

/** A DataValue as text (bytes decoded as UTF-8). */
export function textOf(data: DataValue | undefined): string | undefined {
  return dataText(data, utf8Decode);
}

/** Light format validation of leaf values (what a server can get wrong and a CSP would choke on). */
export function checkFormat(format: string, value: NodeValue | undefined): void {
  if (value === undefined || value instanceof Uint8Array) return;
  if (format === 'int' && !/^[-+]?\d+$/.test(value)) throw new DmStatusError(400, 'int value expected');
  if (format === 'bool' && value !== 'true' && value !== 'false') throw new DmStatusError(400, 'bool value expected');
  if (format === 'float' && Number.isNaN(Number(value))) throw new DmStatusError(400, 'float value expected');
}

export class CommandProcessor implements Runner, Checks {
  // Declared and set in the constructor, not class fields, and TS-private rather than #private: in a QuickJS heap a
  // class with fields gets one more function (their initializer), one with #private methods a brand check too.
  private declare readonly o: ProcessorOptions;
  /** Created by the session's first chunked item (large-object.ts); it then takes every Add/Replace item. */
  private declare large: LargeObjectAssembler | undefined;

  constructor(options: ProcessorOptions) {
    this.o = options;
  }

  /** Answers one message's commands in order (Status and Results only; CmdIDs are the session's). */
  async run(commands: readonly Command[], msgRef: string): Promise<Response[]> {
    const out: Response[] = [];
    for (const command of commands) {
      if (command.cmd === 'Status' || command.cmd === 'Results') continue;
      const tx = this.o.tree.begin();
      await this.command(command, msgRef, tx, out);
      await tx.commit();
    }
    return out;
  }

  /** One command (a container's too) into `out`; its status code. Public for containers.ts. */
  async command(command: Command, msgRef: string, tx: TreeTransaction, out: Response[]): Promise<number> {
    switch (command.cmd) {
      case 'Atomic':
      case 'Sequence': {
        // containers.ts, given the processor as their Runner.
        const containers = await loadContainers();
        return (command.cmd === 'Atomic' ? containers.atomic : containers.sequence)(this, command, msgRef, tx, out);
      }
      case 'Alert':
        // Alerts from a server (user interaction, 1222 …) are rare-commands.ts's: a FUMO cycle's servers send none.
        return (await loadRare()).alert(this, this.o.ui, command, msgRef, out);
      case 'Exec':
      case 'Add':
      case 'Replace':
      case 'Delete':
      case 'Get':
      case 'Copy':
        return this.items(command, msgRef, tx, out);
      default:
        out.push(this.status(command, msgRef, 406));
        return 406;
    }
  }

  /** A Status for `command`. Public for containers.ts and rare-commands.ts. */
  status(command: Command, msgRef: string, code: number, target?: string): Status {
    const status: Status = { cmd: 'Status', msgRef, cmdRef: command.cmdID ?? '0', refCmd: command.cmd, data: String(code) };
    if (target !== undefined) status.targetRefs = [target];
    return status;
  }

  /** Throws 425 unless the ACL in force lets this session's server run `command` on `path`. */
  allowed(tx: TreeTransaction, path: string, command: AclCommand): void {
    if (!aclAllows(tx.effectiveAcl(path), command, this.o.serverId)) throw new DmStatusError(425, `${command} not permitted`);
  }

  /** The node description's verdict (ddf.ts), after the ACL and before any CSP. */
  described(tx: TreeTransaction, op: AccessType, path: string, node: DmNode | undefined, withParent = false): void {
    checkDescription(this.o.csps, tx, op, path, node, withParent ? parentOf(path) : undefined);
  }

  /** The CSP owning `path`. */
  csp(path: string): Csp | undefined {
    return this.o.csps.owner(path);
  }

  /** Each item of an item command (Exec: its one item) answered with a Status, a Get's followed by its Results; the worst code. */
  private async items(command: ItemCommand | Exec, msgRef: string, tx: TreeTransaction, out: Response[]): Promise<number> {
    let worst = 200;
    for (const item of command.cmd === 'Exec' ? [command.items?.[0] ?? {}] : (command.items ?? [])) {
      const uri = item.target?.locURI ?? '';
      const results: Results[] = [];
      let code: number;
      try {
        code = await this.item(command, item, tx, msgRef, results);
      } catch (error) {
        // A DmStatusError is its code; anything else a 500.
        code = error instanceof DmStatusError ? error.status : 500;
      }
      // The Status comes before the Results it announces.
      out.push(this.status(command, msgRef, code, uri), ...results);
      if (code < 200 || code >= 300) worst = code;
    }
    return worst;
  }

  private async item(command: ItemCommand | Exec, item: Item, tx: TreeTransaction, msgRef: string, results: Results[]): Promise<number> {
    const uri = item.target?.locURI ?? '';
    const path = normalizePath(uri);
    const query = uri.includes('?') ? uri.slice(uri.indexOf('?') + 1) : '';
    switch (command.cmd) {
      case 'Exec': {
        if (!tx.has(path)) throw new DmStatusError(404, 'no such node');
        this.allowed(tx, path, 'Exec');
        this.described(tx, 'Exec', path, tx.get(path));
        const csp = this.csp(path);
        if (!csp?.exec) throw new DmStatusError(405, 'node cannot be executed');
        return csp.exec(path, textOf(item.data), { serverId: this.o.serverId, tx, ...(command.correlator === undefined ? {} : { correlator: command.correlator }) });
      }
      case 'Get':
        results.push(await (await loadGet()).get(this, this.o.serverId, command, uri, path, query, tx, msgRef));
        return 200;
      case 'Add':
      case 'Replace': {
        if (this.large || item.moreData) {
          // A large object (large-object.ts): the assembler, created by the session's first chunked item, then takes every Add/Replace item.
          const large = await loadLargeObjects();
          this.large ??= new large.LargeObjectAssembler(this.o.maxObjSize);
          return large.acceptChunk(this.large, this, command, item, uri, path, query, tx);
        }
        const data = item.data;
        if ((data instanceof Uint8Array ? data.length : utf8Encode(textOf(data) ?? '').length) > (this.o.maxObjSize ?? Number.POSITIVE_INFINITY)) {
          throw new DmStatusError(413, 'object larger than MaxObjSize');
        }
        return this.writeNode(command, item, data, path, query, tx);
      }
      case 'Delete':
        return (await loadRare()).del(this, path, tx);
      case 'Copy':
        return (await loadRare()).copy(this, item.source?.locURI ?? '', path, tx);
      default:
        return 406;
    }
  }

  /** Abandons a large object left unfinished (the session ended in the middle of it). */
  async close(): Promise<void> {
    await this.large?.close();
  }

  /** `streamed`: the value went to the CSP's stream; the node is written without it. Public for large-object.ts. */
  async writeNode(command: ItemCommand, item: Item, data: DataValue | undefined, path: string, query: string, tx: TreeTransaction, streamed = false): Promise<number> {
    if (query === 'prop=ACL' && command.cmd === 'Replace') return (await loadRare()).replaceAcl(this, path, textOf(data) ?? '', tx);
    if (query !== '') throw new DmStatusError(406, 'query not supported');
    const node = await this.checked(command, item, data, path, tx);
    const csp = this.csp(path);
    tx.put(path, command.cmd === 'Replace' && !streamed && csp?.write ? await csp.write('Replace', path, node) : node);
    return 200;
  }

  /** The node an Add/Replace writes, checked (existence, ACL, description, format, CSP); an Add's (rare-commands.ts) missing parents go into `tx`. Public for large-object.ts. */
  async checked(command: ItemCommand, item: Item, data: DataValue | undefined, path: string, tx: TreeTransaction): Promise<DmNode> {
    const existing = tx.get(path);
    const format = item.meta?.format ?? command.meta?.format ?? existing?.format ?? 'chr';
    const type = item.meta?.type ?? command.meta?.type ?? existing?.type;
    // Bytes stay bytes only for a bin leaf.
    const value: NodeValue | undefined = data instanceof Uint8Array && format !== 'bin' ? utf8Decode(data) : data instanceof Uint8Array ? data : textOf(data);
    if (command.cmd !== 'Replace') return (await loadRare()).added(this, path, format, type, value, tx);
    if (!existing) throw new DmStatusError(404, 'no such node');
    this.allowed(tx, path, 'Replace');
    if (!existing.leaf) throw new DmStatusError(405, 'an interior node has no value');
    const node: DmNode = { ...existing, format, ...(type === undefined ? {} : { type }), ...(value === undefined ? {} : { value }) };
    this.described(tx, 'Replace', path, node);
    checkFormat(format, value);
    this.csp(path)?.check?.('Replace', path, node, tx);
    return node;
  }
}
