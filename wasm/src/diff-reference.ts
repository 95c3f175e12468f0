/**
 * The reference diff: the obvious Map-based algorithm, written for clarity, not speed. The
 * property tests hold both engines to it on random inputs, and the benchmark uses it as the
 * `js-map` peer.
 */
import { compareUtf8 } from '../../agent/util/bytes.ts';
import { checkSide, duplicateError, isUpgrade } from './diff-input.ts';
import type { DiffPlan, PackageEntry } from './types.ts';

export function referenceDiff(installed: readonly PackageEntry[], desired: readonly PackageEntry[]): DiffPlan {
  checkSide(installed, 'installed');
  checkSide(desired, 'desired');
  const installedByName = new Map<string, PackageEntry>();
  installed.forEach((entry, index) => {
    if (installedByName.has(entry.name)) throw duplicateError('installed', index, entry.name);
    installedByName.set(entry.name, entry);
  });
  const desiredByName = new Map<string, PackageEntry>();
  desired.forEach((entry, index) => {
    if (desiredByName.has(entry.name)) throw duplicateError('desired', index, entry.name);
    desiredByName.set(entry.name, entry);
  });

  const plan: DiffPlan = { install: [], upgrade: [], remove: [], keep: [] };
  for (const entry of desired) {
    const current = installedByName.get(entry.name);
    if (current === undefined) plan.install.push(entry);
    else if (isUpgrade(current, entry)) plan.upgrade.push({ from: current, to: entry });
    else plan.keep.push({ installed: current, desired: entry });
  }
  for (const entry of installed) if (!desiredByName.has(entry.name)) plan.remove.push(entry);

  plan.install.sort((a, b) => compareUtf8(a.name, b.name));
  plan.upgrade.sort((a, b) => compareUtf8(a.to.name, b.to.name));
  plan.remove.sort((a, b) => compareUtf8(a.name, b.name));
  plan.keep.sort((a, b) => compareUtf8(a.desired.name, b.desired.name));
  return plan;
}
