/**
 * The JS engine's diff (QuickJS, or any runtime without WebAssembly). Same result as the
 * reference, faster where it matters: names are sorted as plain strings with the built-in
 * comparison, which is UTF-16 code unit order and equals UTF-8 byte order whenever no name holds
 * a surrogate; only then (astral characters, rare in package names) does it fall back to the
 * slower code point comparison. Only desired names and the removed names are sorted.
 */
import { compareUtf8 } from '../../agent/util/bytes.ts';
import { checkSide, duplicateError, isUpgrade } from './diff-input.ts';
import type { DiffPlan, PackageEntry } from './types.ts';

const SURROGATE = /[\uD800-\uDFFF]/;

function indexByName(names: readonly string[], side: 'installed' | 'desired'): Map<string, number> {
  const byName = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (byName.has(name)) throw duplicateError(side, i, name);
    byName.set(name, i);
  }
  return byName;
}

function sortNames(names: string[], plain: boolean): string[] {
  return plain ? names.sort() : names.sort(compareUtf8);
}

export function jsDiff(installed: readonly PackageEntry[], desired: readonly PackageEntry[]): DiffPlan {
  const a = checkSide(installed, 'installed');
  const b = checkSide(desired, 'desired');
  const installedIndex = indexByName(a.names, 'installed');
  const desiredIndex = indexByName(b.names, 'desired');
  // One regex pass over all names instead of one per name.
  const plain = !SURROGATE.test(a.names.join('\n')) && !SURROGATE.test(b.names.join('\n'));

  const plan: DiffPlan = { install: [], upgrade: [], remove: [], keep: [] };
  for (const name of sortNames(b.names.slice(), plain)) {
    const to = desired[desiredIndex.get(name) as number] as PackageEntry;
    const at = installedIndex.get(name);
    if (at === undefined) {
      plan.install.push(to);
      continue;
    }
    const from = installed[at] as PackageEntry;
    if (isUpgrade(from, to)) plan.upgrade.push({ from, to });
    else plan.keep.push({ installed: from, desired: to });
  }
  const removed: string[] = [];
  for (const name of a.names) if (!desiredIndex.has(name)) removed.push(name);
  for (const name of sortNames(removed, plain)) plan.remove.push(installed[installedIndex.get(name) as number] as PackageEntry);
  return plan;
}
