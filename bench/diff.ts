/**
 * diff: 100 000 installed × 100 000 desired packages, 10 % changed (5 % upgraded, 2.5 % removed,
 * 2.5 % new), both lists shuffled independently, parsed from JSON the way manifests arrive. The
 * time is what a caller pays for `engines.diff(installed, desired)`: validation, marshalling the
 * names into WASM, the sort/merge, and building the plan objects. Also run on already-sorted
 * lists (the agent's own package DB comes back sorted), reported as `diff-sorted`.
 *
 * Peer `input-check` is not a diff: it is the entry validation every contender runs first
 * (checkSide on both lists: one pass over the 200 000 objects and their strings). No diff over
 * these inputs can be faster, so it shows in the same run how much of the time is the floor set
 * by reading scattered heap objects on this machine.
 */
import { checkSide } from '../wasm/src/diff-input.ts';
import { referenceDiff } from '../wasm/src/diff-reference.ts';
import type { DiffPlan, Engines, PackageEntry } from '../wasm/index.ts';
import { measure, prng, type Contender } from './lib.ts';

export const DIFF_SIZE = 100_000;

const PREFIXES = ['lib', 'python3-', 'node-', 'golang-', 'ruby-', 'perl-', 'fonts-', 'r-cran-', 'texlive-', 'firmware-', 'linux-modules-', 'gir1.2-', 'qml-module-', 'x11-', ''];
const SUFFIXES = ['', '', '', '-dev', '-doc', '-common', '-data', '-utils', '2', '6', '-bin', '-plugins'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
// A few non-ASCII names (0.5 %), as custom application packages have them.
const UNICODE = ['über-', 'café-', 'данные-', '数据-', 'emoji-🚀-'];

export interface DiffResult {
  name: string;
  value: number;
  peers: Record<string, number>;
}

function generate(): { installed: PackageEntry[]; desired: PackageEntry[] } {
  const random = prng(0xd1ff);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const word = (min: number, max: number) => {
    let out = '';
    const length = min + Math.floor(random() * (max - min + 1));
    for (let i = 0; i < length; i++) out += LETTERS[Math.floor(random() * 26)];
    return out;
  };
  const hex = () => {
    let out = '';
    for (let i = 0; i < 8; i++) out += Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return out;
  };
  const names = new Set<string>();
  const freshName = () => {
    for (;;) {
      const name = (random() < 0.005 ? pick(UNICODE) : pick(PREFIXES)) + word(3, 10) + pick(SUFFIXES);
      if (!names.has(name)) {
        names.add(name);
        return name;
      }
    }
  };
  const version = () => `${Math.floor(random() * 10)}.${Math.floor(random() * 30)}.${Math.floor(random() * 100)}-${1 + Math.floor(random() * 5)}`;
  const installed: PackageEntry[] = [];
  for (let i = 0; i < DIFF_SIZE; i++) installed.push({ name: freshName(), version: version(), digest: `sha256:${hex()}` });
  const desired: PackageEntry[] = [];
  for (const entry of installed) {
    const roll = random();
    if (roll < 0.05) desired.push({ ...entry, version: version(), digest: `sha256:${hex()}` });
    else if (roll < 0.075) continue; // removed
    else desired.push({ ...entry });
  }
  while (desired.length < DIFF_SIZE) desired.push({ name: freshName(), version: version(), digest: `sha256:${hex()}` });
  const shuffle = (list: PackageEntry[]) => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j] as PackageEntry, list[i] as PackageEntry];
    }
  };
  shuffle(installed);
  shuffle(desired);
  // Through JSON, so strings and objects look like parsed input (flat strings, one shape).
  return { installed: JSON.parse(JSON.stringify(installed)) as PackageEntry[], desired: JSON.parse(JSON.stringify(desired)) as PackageEntry[] };
}

function summary(plan: DiffPlan): string {
  return JSON.stringify({
    install: plan.install.map((e) => e.name),
    upgrade: plan.upgrade.map((u) => [u.from.name, u.to.name]),
    remove: plan.remove.map((e) => e.name),
    keep: plan.keep.map((k) => [k.installed.name, k.desired.name]),
  });
}

export function benchDiff(engines: { wasm: Engines; js: Engines }, rounds: number): DiffResult[] {
  const shuffled = generate();
  const byName = (a: PackageEntry, b: PackageEntry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  // Lists that arrive sorted (the agent's package DB), parsed again so that objects lie in memory
  // in list order, as they would after parsing such a list. No name here holds U+E000–U+FFFF, so
  // UTF-16 order is UTF-8 order and the lists are fully sorted.
  const reparse = (list: PackageEntry[]) => JSON.parse(JSON.stringify(list)) as PackageEntry[];
  const sorted = { installed: reparse([...shuffled.installed].sort(byName)), desired: reparse([...shuffled.desired].sort(byName)) };
  const results: DiffResult[] = [];
  for (const [name, input] of [['diff', shuffled], ['diff-sorted', sorted]] as const) {
    const contenders: Contender[] = [
      { name: 'ours', run: () => engines.wasm.diff(input.installed, input.desired) },
      { name: 'js-map', run: () => referenceDiff(input.installed, input.desired) },
      { name: 'diff-js', run: () => engines.js.diff(input.installed, input.desired) },
    ];
    const expected = summary(referenceDiff(input.installed, input.desired));
    for (const contender of contenders) {
      if (summary(contender.run() as DiffPlan) !== expected) throw new Error(`${name}: ${contender.name} disagrees with the reference diff`);
    }
    const floor: Contender = { name: 'input-check', run: () => [checkSide(input.installed, 'installed'), checkSide(input.desired, 'desired')] };
    const measured = measure([...contenders, floor], { rounds, warmups: 2 });
    const [first, ...rest] = measured;
    results.push({
      name,
      value: (first as (typeof measured)[number]).median,
      peers: Object.fromEntries(rest.map((m) => [m.name, m.median])),
    });
  }
  return results;
}
