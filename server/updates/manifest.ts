/**
 * The import format: a folder of firmware images plus `manifest.json` (our own stand-in for the
 * seeds' CAB files and `Import-CsDeviceUpdate`). Reading a folder validates everything, hashes
 * every image, and either returns the complete list or throws one `ManifestError` listing every
 * problem with its path: an import is all or nothing.
 *
 *     {
 *       "format": "dm-agent/updates-manifest@1",
 *       "images": [
 *         { "model": "CX600", "version": "4.0.7577.4100", "file": "cx600-4100.img",
 *           "from": ["4.0.7577.0", "4.0.7577.4047"],       // optional: default every other version
 *           "sha256": "…",                                  // optional: checked when given
 *           "description": "optional text" }
 *       ]
 *     }
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { firmwareVersionSchema } from '../../agent/firmware/messages.ts';
import { SchemaError, array, hexSha256, literal, object, optional, string } from '../../agent/transport/schema.ts';
import { fileDigest } from '../fleet.ts';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'dm-agent/updates-manifest@1';
export const MAX_IMAGES = 1000;

export type ManifestErrorCode = 'noManifest' | 'badJson' | 'badManifest';

export interface ManifestIssue {
  /** Where in the manifest (`images[2].file`), or '' for the file as a whole. */
  path: string;
  message: string;
}

export class ManifestError extends Error {
  readonly code: ManifestErrorCode;
  readonly issues: ManifestIssue[];
  constructor(code: ManifestErrorCode, folder: string, issues: ManifestIssue[]) {
    super(`${folder}: ${issues.map((issue) => `${issue.path || MANIFEST_FILE}: ${issue.message}`).join('; ')}`);
    this.name = 'ManifestError';
    this.code = code;
    this.issues = issues;
  }
}

const entrySchema = object(
  {
    model: string({ min: 1, max: 128 }),
    version: firmwareVersionSchema(),
    file: string({ min: 1, max: 1024 }),
    from: optional(array(firmwareVersionSchema(), { min: 1, max: 1000 })),
    sha256: optional(hexSha256()),
    description: optional(string({ max: 1024 })),
  },
  { strict: true },
);

const manifestSchema = object({ format: literal(MANIFEST_FORMAT), images: array({ parse: (value) => value }, { min: 1, max: MAX_IMAGES }) }, { strict: true });

/** One validated, hashed image of a folder. */
export interface ManifestImage {
  model: string;
  version: string;
  /** Versions the rule applies to; undefined: every version other than `version`. */
  from?: string[];
  description?: string;
  /** Absolute path of the image file. */
  path: string;
  size: number;
  sha256: string;
}

export async function readManifestFolder(folder: string): Promise<ManifestImage[]> {
  let text: string;
  try {
    text = await readFile(join(folder, MANIFEST_FILE), 'utf8');
  } catch (error) {
    throw new ManifestError('noManifest', folder, [{ path: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError('badJson', folder, [{ path: '', message: `not JSON: ${(error as Error).message}` }]);
  }
  let images: unknown[];
  try {
    images = manifestSchema.parse(json).images;
  } catch (error) {
    if (error instanceof SchemaError) throw new ManifestError('badManifest', folder, [{ path: error.path, message: error.message.slice(error.path.length + 2) }]);
    throw error;
  }

  const issues: ManifestIssue[] = [];
  const seen = new Map<string, number>();
  const found: ManifestImage[] = [];
  for (const [index, raw] of images.entries()) {
    const at = `images[${index}]`;
    let entry;
    try {
      entry = entrySchema.parse(raw, at);
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      issues.push({ path: error.path, message: error.message.slice(error.path.length + 2) });
      continue;
    }
    const key = `${entry.model}\0${entry.version}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) issues.push({ path: at, message: `${entry.model} ${entry.version} is already images[${earlier}]` });
    else seen.set(key, index);
    if (entry.from?.includes(entry.version)) issues.push({ path: `${at}.from`, message: `names the image's own version ${entry.version}` });
    if (entry.from && new Set(entry.from).size !== entry.from.length) issues.push({ path: `${at}.from`, message: 'lists a version twice' });
    const path = insideFolder(folder, entry.file);
    if (path === undefined) {
      issues.push({ path: `${at}.file`, message: 'must be a relative path inside the folder' });
      continue;
    }
    const info = await fileDigest(path).catch(() => undefined);
    if (info === undefined) {
      issues.push({ path: `${at}.file`, message: `${entry.file}: no such file` });
      continue;
    }
    if (info.size === 0) {
      issues.push({ path: `${at}.file`, message: `${entry.file}: empty` });
      continue;
    }
    const sha256 = info.digest;
    if (entry.sha256 !== undefined && entry.sha256 !== sha256) {
      issues.push({ path: `${at}.sha256`, message: `${entry.file} has SHA-256 ${sha256}, the manifest says ${entry.sha256}` });
      continue;
    }
    found.push({
      model: entry.model,
      version: entry.version,
      ...(entry.from ? { from: entry.from } : {}),
      ...(entry.description !== undefined ? { description: entry.description } : {}),
      path,
      size: info.size,
      sha256,
    });
  }
  if (issues.length > 0) throw new ManifestError('badManifest', folder, issues);
  return found;
}

/** The absolute path of `file` if it stays inside `folder` (no absolute paths, no `..` escapes). */
function insideFolder(folder: string, file: string): string | undefined {
  if (isAbsolute(file) || file.includes('\0')) return undefined;
  const base = normalize(folder);
  const path = normalize(join(base, file));
  return path.startsWith(base.endsWith(sep) ? base : base + sep) ? path : undefined;
}
