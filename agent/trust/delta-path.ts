/**
 * Where a signed delta's patch is (`path` of a target's `custom.deltas`, ./target-deltas.ts):
 * resolved against the full artifact's URL. Apart from the metadata parser because the pipeline
 * runner uses it for every family, signed or not, and the parser belongs to the signed-metadata
 * chunk (./signed.ts).
 */
import { TrustError } from './errors.ts';

/** Relative path segments only: no scheme, no authority, no query; `..` climbs from the artifact's folder. */
export const DELTA_PATH = /^(?:(?:\.\.|[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127})\/){0,15}[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}$/;

/**
 * The patch's URL: `path` resolved against the artifact's URL (its folder; each `..` one folder
 * up, never above the server's root). Only http(s) artifact URLs have a place next to them.
 */
export function resolveDeltaPath(artifactUrl: string, path: string): string {
  const m = /^(https?:\/\/[^/?#]+)(\/[^?#]*)?/i.exec(artifactUrl);
  if (!m) throw new TrustError('malformed', 'the artifact has no http(s) URL to find its delta next to');
  if (!DELTA_PATH.test(path)) throw new TrustError('malformed', 'the delta path is not a relative path');
  const folder = (m[2] ?? '/').split('/').slice(1, -1);
  for (const segment of path.split('/')) {
    if (segment !== '..') folder.push(segment);
    else if (folder.length > 0) folder.pop();
  }
  return `${m[1]}/${folder.map(encodeURIComponent).join('/')}`;
}
