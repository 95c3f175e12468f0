/**
 * Incoming large objects (DM_Protocol 1.2 §6.7, DM_RepPro §6.6.12): an Add/Replace item split into
 * chunks marked MoreData, the first carrying the whole object's Meta Size. The assembler keeps
 * memory bounded by the client's MaxObjSize (which it advertises in every SyncHdr):
 *  - a first chunk without Size: 411 (size required);
 *  - a Size above MaxObjSize, or a single item above it: 413 (request entity too large);
 *  - chunks adding up to more than Size, or a last chunk ending short of it: 424 (size mismatch).
 * Once refused, the rest of that object's chunks get the same status, never 213.
 */
import type { DataValue, Item, ItemCommand } from '../syncml/model.ts';
import { dataText } from '../syncml/model.ts';
import { concatBytes, utf8Decode, utf8Encode } from '../util/bytes.ts';
import type { Csp } from './csp/api.ts';
import { DmStatusError } from './errors.ts';
import type { DmNode, TreeTransaction } from './tree.ts';

/** Where a streamed large object goes chunk by chunk (a CSP's `stream`, e.g. FUMO PkgData to staging). */
export interface ValueStream {
  write(bytes: Uint8Array): Promise<void>;
  /** All chunks are in (their total matched the Size): make the value durable. */
  end(): Promise<void>;
  /** The object was refused or abandoned: drop what was written. */
  abort(): Promise<void>;
}

/** Opens the stream for a new object of `size` (after the command's checks), or undefined: assemble in memory. */
export type OpenStream = (size: number) => Promise<ValueStream | undefined>;

interface Pending {
  cmd: string;
  target: string;
  parts: Uint8Array[];
  received: number;
  size: number;
  stream?: ValueStream;
  /** Set once the object was refused: the status its remaining chunks get. */
  refused?: number;
}

function bytesOf(value: DataValue | undefined): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return utf8Encode(dataText(value, utf8Decode) ?? '');
}

export class LargeObjectAssembler {
  readonly #maxObjSize: number;
  #pending: Pending | undefined;

  /** `maxObjSize` undefined: no limit of our own (the declared Size still has to match). */
  constructor(maxObjSize?: number) {
    this.#maxObjSize = maxObjSize ?? Number.POSITIVE_INFINITY;
  }

  /**
   * One item of an Add/Replace: `'chunk'` while MoreData chunks arrive (the caller answers 213);
   * once the last one is in, the whole Data, or `'streamed'` when `open` gave a stream (memory
   * then holds one chunk, never the object); the item's own Data when it is not chunked.
   */
  async accept(command: ItemCommand, item: Item, uri: string, open?: OpenStream): Promise<DataValue | undefined | 'chunk' | 'streamed'> {
    const pending = this.#pending?.target === uri && this.#pending.cmd === command.cmd ? this.#pending : undefined;
    if (!pending) {
      // A new object (an unfinished one before it is abandoned: the server moved on).
      await this.#abandon();
      if (!item.moreData) {
        if (bytesOf(item.data).length > this.#maxObjSize) throw new DmStatusError(413, 'object larger than MaxObjSize');
        return item.data;
      }
      const declared = item.meta?.size ?? command.meta?.size;
      const size = Number(declared);
      const started: Pending = { cmd: command.cmd, target: uri, parts: [], received: 0, size };
      this.#pending = started;
      if (declared === undefined || !Number.isSafeInteger(size) || size < 0) return this.#refuse(started, 411, 'the first chunk of a large object must carry its Size');
      if (size > this.#maxObjSize) return this.#refuse(started, 413, 'large object larger than MaxObjSize');
      try {
        const stream = await open?.(size);
        if (stream) started.stream = stream;
      } catch (error) {
        // The command itself is refused (ACL, description, CSP): so is every chunk of the object.
        if (error instanceof DmStatusError) return this.#refuse(started, error.status, error.message);
        throw error;
      }
      return this.#add(started, item);
    }
    if (pending.refused !== undefined) {
      const status = pending.refused;
      if (!item.moreData) this.#pending = undefined;
      throw new DmStatusError(status, 'large object refused');
    }
    return this.#add(pending, item);
  }

  async #add(pending: Pending, item: Item): Promise<DataValue | 'chunk' | 'streamed'> {
    const bytes = bytesOf(item.data);
    pending.received += bytes.length;
    if (pending.received > pending.size) return this.#refuse(pending, 424, 'large object chunks exceed the declared Size', !item.moreData);
    if (pending.stream) await pending.stream.write(bytes);
    else pending.parts.push(bytes);
    if (item.moreData) return 'chunk';
    this.#pending = undefined;
    if (pending.received !== pending.size) {
      await pending.stream?.abort();
      throw new DmStatusError(424, 'large object size mismatch');
    }
    if (pending.stream) {
      await pending.stream.end();
      return 'streamed';
    }
    const whole = concatBytes(pending.parts);
    return item.data instanceof Uint8Array ? whole : utf8Decode(whole);
  }

  /** The session is over: an unfinished object is dropped. */
  close(): Promise<void> {
    return this.#abandon();
  }

  /** An unfinished object the server gave up on: its stream is dropped. */
  async #abandon(): Promise<void> {
    const stream = this.#pending?.refused === undefined ? this.#pending?.stream : undefined;
    this.#pending = undefined;
    await stream?.abort();
  }

  /** Marks the object refused (its parts and stream dropped) and throws the status for this chunk. */
  async #refuse(pending: Pending, status: number, message: string, last = false): Promise<never> {
    pending.parts = [];
    pending.refused = status;
    if (last) this.#pending = undefined;
    const stream = pending.stream;
    delete pending.stream;
    await stream?.abort();
    throw new DmStatusError(status, message);
  }
}

/** What a chunked Add/Replace needs of the DPU (the processor of ./commands.ts). */
export interface ChunkWriter {
  csp(path: string): Csp | undefined;
  /** The node the command writes, checked in `tx`. */
  checked(command: ItemCommand, item: Item, data: DataValue | undefined, path: string, tx: TreeTransaction): Promise<DmNode>;
  /** Writes the node (`streamed`: without a value, which went to the CSP's stream); its status. */
  writeNode(command: ItemCommand, item: Item, data: DataValue | undefined, path: string, query: string, tx: TreeTransaction, streamed?: boolean): Promise<number>;
}

/**
 * One item of an Add/Replace once large objects are in play: 213 while chunks arrive, then the
 * write of the whole value. A leaf whose CSP streams large objects (FUMO PkgData) gets a stream,
 * opened after the command is checked as its write will be (in a throwaway fork), before the first
 * byte is taken.
 */
export async function acceptChunk(assembler: LargeObjectAssembler, p: ChunkWriter, command: ItemCommand, item: Item, uri: string, path: string, query: string, tx: TreeTransaction): Promise<number> {
  const whole = await assembler.accept(command, item, uri, async (size) => {
    const csp = p.csp(path);
    if (!csp?.stream || query !== '') return undefined;
    return csp.stream(command.cmd as 'Add' | 'Replace', path, await p.checked(command, item, undefined, path, tx.fork()), size);
  });
  if (whole === 'chunk') return 213;
  return whole === 'streamed' ? p.writeNode(command, item, undefined, path, query, tx, true) : p.writeNode(command, item, whole, path, query, tx);
}
