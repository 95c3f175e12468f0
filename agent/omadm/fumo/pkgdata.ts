/**
 * FUMO `Update/PkgData`: the package the server delivers inline (Replace, usually as a large object
 * in MoreData chunks). It is kept out of the DM tree (the store is small): the CSP writes it to a
 * staging file, synced before the Replace is answered, and the tree's leaf only says how big it is.
 *
 * The shared pipeline then takes it from there like any package — same download stage (chunks,
 * checkpoints, SHA-256 verification), same slot sink, hold, activation — by reading it from a
 * reserved origin that this module's HttpClient serves from the staging file. There is no second
 * download path. The staging work itself (./pkgdata-staging.ts) is a lazy chunk, loaded by the
 * first inline package.
 */
import type { HttpClient, Staging } from '../../../hal/types.ts';
import { loadOnce } from '../../util/load-once.ts';
import type { ValueStream } from '../large-object.ts';

const loadStaging = loadOnce(() => import('./pkgdata-staging.ts'));

/** `.invalid` never resolves (RFC 2606): nothing else can answer on this origin. */
export const PKGDATA_ORIGIN = 'http://pkgdata.fumo.invalid/';

export function pkgDataFile(instance: string): string {
  return `omadm-pkgdata-${instance}`;
}

export function pkgDataUrl(instance: string): string {
  return `${PKGDATA_ORIGIN}${encodeURIComponent(instance)}`;
}

/** Where FUMO keeps inline packages (the staging files below, or a test's stand-in). */
export interface PkgDataStore {
  /** Stores the package durably (replacing an earlier one); returns its size. */
  put(instance: string, bytes: Uint8Array): Promise<number>;
  /** Streams a package in (replacing an earlier one): at most `reserve` bytes, appended in order. */
  writer(instance: string, reserve: number): Promise<PkgDataWriter>;
  /** Size of the stored package, undefined when there is none. */
  size(instance: string): Promise<number | undefined>;
  remove(instance: string): Promise<void>;
}

export interface PkgDataWriter {
  append(bytes: Uint8Array): Promise<void>;
  /** Synced and closed: the package is complete. */
  end(): Promise<void>;
  /** Emptied and closed: no package (an Exec Update then finds none). */
  abort(): Promise<void>;
}

export function stagingPkgData(staging: Staging): PkgDataStore {
  return {
    put: async (instance, bytes) => (await loadStaging()).storePkgData(staging, pkgDataFile(instance), bytes),
    writer: async (instance, reserve) => (await loadStaging()).stagingWriter(staging, pkgDataFile(instance), reserve),
    size: async (instance) => (await loadStaging()).stagedSize(staging, pkgDataFile(instance)),
    remove: (instance) => staging.remove(pkgDataFile(instance)),
  };
}

/**
 * The large-object stream of a PkgData Replace: chunks appended to the writer as they arrive
 * (Format b64: decoded in whole 4-character groups, the rest kept for the next chunk).
 */
export async function pkgDataStream(writer: PkgDataWriter, format: string): Promise<ValueStream> {
  return (await loadStaging()).pkgDataStream(writer, format);
}

/** `inner` for every URL but the PkgData origin, which is served from the staging files (GET, Range `bytes=N-`). */
export function pkgDataHttp(staging: Staging, inner: HttpClient): HttpClient {
  return {
    request: async (request) =>
      request.url.startsWith(PKGDATA_ORIGIN)
        ? (await loadStaging()).servePkgData(staging, pkgDataFile(decodeURIComponent(request.url.slice(PKGDATA_ORIGIN.length))), request)
        : inner.request(request),
  };
}
