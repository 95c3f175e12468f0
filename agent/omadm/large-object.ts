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
import { DmStatusError } from './errors.ts';

interface Pending {
  cmd: string;
  target: string;
  parts: Uint8Array[];
  received: number;
  size: number;
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
   * One item of an Add/Replace: `'chunk'` while MoreData chunks arrive (the caller answers 213),
   * the whole Data once the last one is in (or the item's own Data when it is not chunked).
   */
  accept(command: ItemCommand, item: Item, uri: string): DataValue | undefined | 'chunk' {
    const pending = this.#pending?.target === uri && this.#pending.cmd === command.cmd ? this.#pending : undefined;
    if (!pending) {
      // A new object (an unfinished one before it is abandoned: the server moved on).
      this.#pending = undefined;
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
      return this.#add(started, item);
    }
    if (pending.refused !== undefined) {
      const status = pending.refused;
      if (!item.moreData) this.#pending = undefined;
      throw new DmStatusError(status, 'large object refused');
    }
    return this.#add(pending, item);
  }

  #add(pending: Pending, item: Item): DataValue | 'chunk' {
    const bytes = bytesOf(item.data);
    pending.received += bytes.length;
    if (pending.received > pending.size) return this.#refuse(pending, 424, 'large object chunks exceed the declared Size', !item.moreData);
    pending.parts.push(bytes);
    if (item.moreData) return 'chunk';
    this.#pending = undefined;
    if (pending.received !== pending.size) throw new DmStatusError(424, 'large object size mismatch');
    const whole = concatBytes(pending.parts);
    return item.data instanceof Uint8Array ? whole : utf8Decode(whole);
  }

  /** Marks the object refused (its parts dropped) and throws the status for this chunk. */
  #refuse(pending: Pending, status: number, message: string, last = false): never {
    pending.parts = [];
    pending.refused = status;
    if (last) this.#pending = undefined;
    throw new DmStatusError(status, message);
  }
}
