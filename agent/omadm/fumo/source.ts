/**
 * Where a FUMO package comes from and what it must be, decided once before the shared pipeline's
 * job is created (the job then persists it): the URL to download (the PkgURL itself, the
 * `objectURI` of the download descriptor it points at, or the PkgData origin), its size and its
 * SHA-256.
 *  - size: signed metadata (`expected`), else `Ext/Size`, else the DD's `size`, else the HTTP
 *    answer's length (or the stored PkgData's);
 *  - SHA-256: signed metadata (`expected`, the trust integration point), else `Ext/SHA256`.
 *    The pipeline verifies every image: without a digest from either, the package is refused
 *    (FUMO 405, not acceptable).
 * Sizes from two sources that disagree refuse the package too (403, package mismatch; 905 to the
 * DD's installNotifyURI).
 */
import type { HttpClient } from '../../../hal/types.ts';
import type { DownloadDescriptor } from './descriptor.ts';
import { DD_MAX_BYTES, DD_MIME, INSTALL_STATUS } from './install-status.ts';
import { FUMO_RESULT } from './flow.ts';
import type { FumoJob } from './manager.ts';
import { type PkgDataStore, pkgDataUrl } from './pkgdata.ts';
import { utf8Decode } from '../../util/bytes.ts';
import { loadOnce } from '../../util/load-once.ts';

/** The download descriptor parser (./descriptor.ts) is a lazy chunk: most PkgURLs point at the package itself. */
const loadDescriptor = loadOnce(() => import('./descriptor.ts'));

/** What signed metadata (e.g. TUF targets) says of the package: the trust helper's integration point. */
export interface PackageExpectation {
  size?: number;
  sha256?: string;
  /** Signed metadata refused the package (its trust code): nothing is fetched, FUMO answers 404. */
  refused?: string;
}

export interface ResolvedPackage {
  url: string;
  size: number;
  sha256: string;
  /** The DD's installNotifyURI: gets 900 when the package is in, a 9xx status when it failed. */
  installNotify?: string;
}

export type Resolution = { kind: 'resolved'; pkg: ResolvedPackage } | { kind: 'refused'; result: number; message: string; notify?: { url: string; status: string } };

export interface SourceParts {
  http: HttpClient;
  pkgData?: PkgDataStore;
  timeoutMs: number;
  expected?(job: FumoJob): Promise<PackageExpectation | undefined>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Looks at the PkgURL: a download descriptor is read and parsed (`refused`: not a valid one); otherwise only the length is kept. */
async function probe(http: HttpClient, url: string, timeoutMs: number): Promise<{ dd?: DownloadDescriptor; length?: number; refused?: string }> {
  const response = await http.request({ method: 'GET', url, headers: { accept: `${DD_MIME}, */*` }, timeoutMs });
  const type = (response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (response.status !== 200) {
    response.cancel();
    return {};
  }
  if (type === DD_MIME) {
    const { DescriptorError, parseDescriptor } = await loadDescriptor();
    const xml = utf8Decode(await response.bytes(DD_MAX_BYTES));
    try {
      return { dd: parseDescriptor(xml) };
    } catch (error) {
      if (!(error instanceof DescriptorError)) throw error;
      return { refused: error.message };
    }
  }
  response.cancel();
  const length = Number(response.headers['content-length']);
  return Number.isSafeInteger(length) && length > 0 ? { length } : {};
}

/** Network errors propagate (the caller retries later); what the server said wrong is a refusal. */
export async function resolvePackage(parts: SourceParts, job: FumoJob): Promise<Resolution> {
  const expected = (await parts.expected?.(job)) ?? {};
  if (expected.refused) return { kind: 'refused', result: FUMO_RESULT.signatureFailed, message: `package refused by signed metadata (trust:${expected.refused})` };
  const sha256 = (expected.sha256 ?? job.sha256)?.toLowerCase();
  let url: string;
  let found: number | undefined;
  let dd: DownloadDescriptor | undefined;
  if (job.source === 'pkgData') {
    url = pkgDataUrl(job.instance);
    found = await parts.pkgData?.size(job.instance);
    if (found === undefined) return { kind: 'refused', result: FUMO_RESULT.notAcceptable, message: 'no package in Update/PkgData' };
  } else {
    const probed = await probe(parts.http, job.url as string, parts.timeoutMs);
    if (probed.refused !== undefined) return { kind: 'refused', result: FUMO_RESULT.notAcceptable, message: probed.refused };
    dd = probed.dd;
    found = dd?.size ?? probed.length;
    url = dd?.objectURI ?? (job.url as string);
  }
  const notifyOf = (status: string) => (dd?.installNotifyURI ? { notify: { url: dd.installNotifyURI, status } } : {});
  const declared = [expected.size, job.size].filter((n): n is number => n !== undefined);
  const size = declared[0] ?? found;
  if ([...declared, ...(found === undefined ? [] : [found])].some((n) => n !== size))
    return { kind: 'refused', result: FUMO_RESULT.packageMismatch, message: 'package sizes disagree', ...notifyOf(INSTALL_STATUS.attributeMismatch) };
  if (size === undefined || !sha256 || !SHA256.test(sha256))
    return { kind: 'refused', result: FUMO_RESULT.notAcceptable, message: 'no size or SHA-256 to verify the package against', ...notifyOf(INSTALL_STATUS.nonAcceptableContent) };
  return { kind: 'resolved', pkg: { url, size, sha256, ...(dd?.installNotifyURI ? { installNotify: dd.installNotifyURI } : {}) } };
}
