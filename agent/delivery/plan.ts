/**
 * From the manager's package list to a plan (seed 000: "computes all the packages it should have
 * to conform to the list received; removes those it has that do not conform"). The diff itself
 * runs on the WASM engine (JS fallback on QuickJS); this module adds the optional-package policy.
 */
import type { DiffPlan, Engines, PackageEntry } from '../../wasm/index.ts';
import type { InstalledPackage } from './package-db.ts';
import type { PackageSpec } from './messages.ts';

export interface PackagePlan {
  install: PackageSpec[];
  upgrade: { from: InstalledPackage; to: PackageSpec }[];
  remove: InstalledPackage[];
  keep: InstalledPackage[];
  /** Optional packages left out by the `skip` policy. */
  skipped: PackageSpec[];
}

type Installed = PackageEntry & { record: InstalledPackage };
type Desired = PackageEntry & { spec: PackageSpec };

/**
 * `install` policy: optional packages are installed like the others. `skip`: an optional package
 * is only kept (and upgraded) when it is installed already. In both, an installed package that is
 * on the list (optional or not) conforms and is never removed.
 */
export function planPackages(engines: Engines, installed: readonly InstalledPackage[], list: readonly PackageSpec[], policy: 'install' | 'skip'): PackagePlan {
  const installedNames = new Set(installed.map((entry) => entry.name));
  const skipped = policy === 'skip' ? list.filter((spec) => spec.optional && !installedNames.has(spec.name)) : [];
  const wanted = skipped.length === 0 ? list : list.filter((spec) => !skipped.includes(spec));
  const left: Installed[] = installed.map((record) => ({ name: record.name, version: record.version, digest: record.digest, record }));
  const right: Desired[] = wanted.map((spec) => ({ name: spec.name, version: spec.version, digest: spec.digest, optional: spec.optional, spec }));
  const plan: DiffPlan = engines.diff(left, right);
  return {
    install: plan.install.map((entry) => (entry as Desired).spec),
    upgrade: plan.upgrade.map(({ from, to }) => ({ from: (from as Installed).record, to: (to as Desired).spec })),
    remove: plan.remove.map((entry) => (entry as Installed).record),
    keep: plan.keep.map(({ installed: entry }) => (entry as Installed).record),
    skipped,
  };
}
