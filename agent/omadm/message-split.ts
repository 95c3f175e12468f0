/**
 * A Results that does not fit the message being built (the lazy part of ./messages.ts, loaded by
 * the first one): a Results of several items (a `?list=` answer) is split into as many whole items
 * as fit now and the rest (same CmdRef) later; a single item too large for any message goes out in
 * MoreData chunks, the largest first chunk that fits found by halving, then bisecting up.
 * `fits` says whether a candidate fits after what the message holds already.
 */
import type { Command, Item, Results, SyncHdr, SyncmlEncoding } from '../syncml/model.ts';
import { withinBudget } from './messages.ts';

type Fits = (results: Results) => boolean;

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

/** A Results of several items that does not fit: as many whole items as fit now, the rest (same CmdRef) later. */
function splitItems(results: Results, fits: Fits): [Results, Results] {
  const items = results.items ?? [];
  const part = (from: number, to: number): Results => ({ ...results, items: items.slice(from, to) });
  let count = 0;
  while (count + 1 < items.length && fits(part(0, count + 1))) count++;
  // Not even one item fits beside what the message holds: split off the first alone (the next round chunks it or sends it next message).
  return [part(0, Math.max(1, count)), part(Math.max(1, count), items.length)];
}

/** The largest first chunk of `results` that fits: halve until it fits, then bisect up. */
function shrinkToFit(results: Results, fits: Fits): [Results, Results] | undefined {
  const total = dataLength(results.items?.[0]?.data);
  const chunkFits = (size: number) => {
    const split = splitResults(results, size);
    return split !== undefined && fits(split[0]);
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

/**
 * `results`, which did not fit after the commands `before` (renumbered from 1): the part that
 * fits now and the rest, or undefined when no part of it fits.
 */
export function splitToFit(hdr: SyncHdr, before: readonly Command[], results: Results, encoding: SyncmlEncoding, maxMsgSize: number): [Results, Results] | undefined {
  const fits = (candidate: Results) => {
    const commands = [...before, candidate].map((c, i) => ({ ...c, cmdID: String(i + 1) }));
    return withinBudget({ hdr, body: { commands, final: false } }, encoding, maxMsgSize).remaining.length === 0;
  };
  return (results.items?.length ?? 0) > 1 ? splitItems(results, fits) : shrinkToFit(results, fits);
}
