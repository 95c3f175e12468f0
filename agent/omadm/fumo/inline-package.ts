/**
 * The FUMO CSP's inline packages (./manager.ts): the Replace of `FUMO/<x>/Update/PkgData`, whose
 * bytes go to the PkgDataStore (./pkgdata.ts), never into the tree. A lazy chunk, loaded by the
 * first such Replace: a FUMO cycle by URL (Exec Download, Exec Update) never needs it.
 */
import { fromBase64, utf8Encode } from '../../util/bytes.ts';
import type { ValueStream } from '../large-object.ts';
import { DmStatusError } from '../errors.ts';
import type { DmNode } from '../tree.ts';
import type { FumoState } from './flow.ts';
import { type PkgDataStore, pkgDataStream } from './pkgdata.ts';

/** The store to take the package of instance `x`, in FUMO state `state`: refused while a package is being processed. */
function storeFor(store: PkgDataStore | undefined, state: FumoState): PkgDataStore {
  if (!store) throw new DmStatusError(406, 'inline packages (PkgData) are not supported here');
  if (state === 'downloading' || state === 'updating') throw new DmStatusError(405, 'a package is being processed');
  return store;
}

/** A PkgData large object: streamed chunk by chunk into the store (memory holds one chunk). */
export async function streamPkgData(store: PkgDataStore | undefined, state: FumoState, x: string, node: DmNode, size: number): Promise<ValueStream> {
  const target = storeFor(store, state);
  const reserve = node.format === 'b64' ? Math.ceil(size / 4) * 3 : size;
  return pkgDataStream(await target.writer(x, reserve), node.format);
}

/** Replace PkgData in one piece: the bytes go to the store (durably, before the 200); the leaf keeps none. */
export async function putPkgData(store: PkgDataStore | undefined, state: FumoState, x: string, node: DmNode): Promise<DmNode> {
  const target = storeFor(store, state);
  const value = node.value ?? '';
  const bytes = typeof value !== 'string' ? value : node.format === 'b64' ? fromBase64(value) : utf8Encode(value);
  await target.put(x, bytes);
  return { ...node, value: '' };
}
