/**
 * Delta offers in signed targets metadata: a target's `custom.deltas` lists patches that turn an
 * older version of the same artifact into this one, each signed like a target itself (length and
 * SHA-256 of the patch), with the source it needs (version, length and SHA-256). A device holding
 * that source may fetch the patch instead of the artifact; whatever it builds is verified against
 * the target's own signed length and digest, so a patch can save bytes but never change what is
 * installed.
 *
 *   "custom": { "version": "2.0.0", "deltas": [
 *     { "from": "1.0.0", "sourceLength": 1048576, "sourceSha256": "<64 hex>",
 *       "format": "vcdiff", "length": 40123, "hashes": { "sha256": "<64 hex>" },
 *       "path": "deltas/<patch sha256>.vcdiff" } ] }
 *
 * `path` is a relative reference resolved against the URL the family downloads the full artifact
 * from (`resolveDeltaPath`, ./delta-path.ts): the patch lives next to the artifact, on the same
 * server, so the family's credentials for the artifact are the ones for the patch. Parsing is
 * strict, like the rest of the metadata (./metadata.ts): a wrong type is `malformed`, too many
 * entries `tooLarge`.
 */
import { DELTA_FORMATS } from '../pipeline/delta-schema.ts';
import type { DeltaFormat } from '../../wasm/index.ts';
import { hasOwn } from '../util/own.ts';
import type { JsonValue } from './canonical-json.ts';
import { DELTA_PATH as PATH } from './delta-path.ts';
import { TrustError } from './errors.ts';

export { resolveDeltaPath } from './delta-path.ts';

export interface TargetDelta {
  /** The source's version (dotted numbers or any label the release uses). */
  from: string;
  sourceLength: number;
  /** Lower-case hex SHA-256 of the source. */
  sourceSha256: string;
  format: DeltaFormat;
  /** The patch's signed length and SHA-256. */
  length: number;
  sha256: string;
  /** Where the patch is, relative to the full artifact's URL. */
  path: string;
}

/** Deltas one target may list (one per older version kept, per format). */
export const MAX_TARGET_DELTAS = 32;
/** Largest source or patch a delta names (the artifact bound of the pipeline: 4 GiB). */
const MAX_BYTES = 4 * 1024 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

type Obj = { [key: string]: JsonValue };

const fail = (where: string, what: string): never => {
  throw new TrustError('malformed', `${where}${what}`);
};

function text(o: Obj, key: string, where: string, max: number): string {
  const v = hasOwn(o, key) ? o[key] : undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(where, `.${key} is not a string of 1..${max} characters`);
  return v as string;
}

function size(o: Obj, key: string, where: string, min: number): number {
  const v = hasOwn(o, key) ? o[key] : undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > MAX_BYTES) fail(where, `.${key} is not an integer in ${min}..${MAX_BYTES}`);
  return v as number;
}

function hex(v: JsonValue | undefined, where: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) fail(where, ' is not 64 lowercase hex digits');
  return v as string;
}

function entry(v: JsonValue | undefined, where: string): TargetDelta {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(where, ' is not an object');
  const o = v as Obj;
  const format = hasOwn(o, 'format') ? o['format'] : undefined;
  if (!DELTA_FORMATS.includes(format as DeltaFormat)) fail(where, `.format is not one of ${DELTA_FORMATS.join(', ')}`);
  const hashes = hasOwn(o, 'hashes') ? o['hashes'] : undefined;
  if (typeof hashes !== 'object' || hashes === null || Array.isArray(hashes)) fail(where, '.hashes is not an object');
  const path = text(o, 'path', where, 1024);
  if (!PATH.test(path)) fail(where, '.path is not a relative path (segments of letters, digits, . _ ~ -)');
  return {
    from: text(o, 'from', where, 100),
    sourceLength: size(o, 'sourceLength', where, 0),
    sourceSha256: hex(hasOwn(o, 'sourceSha256') ? o['sourceSha256'] : undefined, `${where}.sourceSha256`),
    format: format as DeltaFormat,
    length: size(o, 'length', where, 1),
    sha256: hex(hasOwn(hashes as Obj, 'sha256') ? (hashes as Obj)['sha256'] : undefined, `${where}.hashes.sha256`),
    path,
  };
}

/** `custom.deltas` of a target (`where` names it in errors). */
export function parseTargetDeltas(v: JsonValue | undefined, where: string): TargetDelta[] {
  if (!Array.isArray(v)) return fail(where, ' is not a list');
  const list = v as JsonValue[];
  if (list.length > MAX_TARGET_DELTAS) throw new TrustError('tooLarge', `${where} lists ${list.length} deltas, at most ${MAX_TARGET_DELTAS}`);
  const out: TargetDelta[] = [];
  for (let i = 0; i < list.length; i++) out.push(entry(list[i], `${where}[${i}]`)); // a loop: no callback function in a QuickJS heap
  return out;
}

/** How a delta is written into targets metadata (the release tooling's side of `parseTargetDeltas`). */
export function targetDeltaJson(delta: TargetDelta): JsonValue {
  const { sha256, ...rest } = delta;
  return { ...rest, hashes: { sha256 } };
}
