/**
 * Validation shared by every diff implementation, and the one rule that classifies a match.
 * Errors are decided here, before any engine-specific work, so all engines reject the same
 * inputs with the same codes: malformed entries (both sides) first, then duplicates (installed
 * side first).
 */
import { DiffInputError, type DiffSide } from './errors.ts';
import type { PackageEntry } from './types.ts';

export interface CheckedSide {
  names: string[];
  /** UTF-16 length of each name. */
  lengths: Uint32Array;
  /** Sum of `lengths`. */
  units: number;
}

function invalid(side: DiffSide, index: number, what: string): DiffInputError {
  return new DiffInputError('invalidEntry', side, index, `${side}[${index}]: ${what}`);
}

/**
 * An entry is an object with a non-empty string `name`, a string `version`, and optionally a
 * string `digest` and a boolean `optional` (absent = undefined; null is not accepted).
 */
export function checkSide(list: unknown, side: DiffSide): CheckedSide {
  if (!Array.isArray(list)) throw new DiffInputError('invalidEntry', side, -1, `${side} must be an array of package entries`);
  const n = list.length;
  const names = new Array<string>(n);
  const lengths = new Uint32Array(n);
  let units = 0;
  // Plain property reads, no destructuring: this loop runs for every entry of every diff.
  for (let i = 0; i < n; i++) {
    const entry = list[i] as Record<string, unknown> | null;
    if (typeof entry !== 'object' || entry === null) throw invalid(side, i, 'not an object');
    const name = entry.name;
    if (typeof name !== 'string' || name.length === 0) throw invalid(side, i, 'name must be a non-empty string');
    if (typeof entry.version !== 'string') throw invalid(side, i, 'version must be a string');
    const digest = entry.digest;
    if (digest !== undefined && typeof digest !== 'string') throw invalid(side, i, 'digest must be a string when present');
    const optional = entry.optional;
    if (optional !== undefined && typeof optional !== 'boolean') throw invalid(side, i, 'optional must be a boolean when present');
    names[i] = name;
    lengths[i] = name.length;
    units += name.length;
  }
  return { names, lengths, units };
}

export function duplicateError(side: DiffSide, index: number, name: string): DiffInputError {
  const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return new DiffInputError('duplicateName', side, index, `${side}: package name ${JSON.stringify(shown)} occurs more than once`, name);
}

/** Same name on both sides: an upgrade when the version differs, or both digests exist and differ. */
export function isUpgrade(installed: PackageEntry, desired: PackageEntry): boolean {
  if (installed.version !== desired.version) return true;
  return installed.digest !== undefined && desired.digest !== undefined && installed.digest !== desired.digest;
}
