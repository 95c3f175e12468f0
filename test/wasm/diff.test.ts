/**
 * The package-list diff, run against every engine and held to the reference implementation
 * (wasm/src/diff-reference.ts) on fixed cases and random manifests, unicode names included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareUtf8 } from '../../agent/util/bytes.ts';
import { DiffInputError, type DiffPlan, type PackageEntry } from '../../wasm/index.ts';
import { referenceDiff } from '../../wasm/src/diff-reference.ts';
import { ENGINES, engines, type EngineVariant } from './engines.ts';

const DIFF_ENGINES: EngineVariant[] = [...ENGINES, 'wasm-portable'];

const entry = (name: string, version = '1', extra: Partial<PackageEntry> = {}): PackageEntry => ({ name, version, ...extra });

/** Plans compared by identity of the entries (the engines must return the caller's objects). */
function expectSamePlan(actual: DiffPlan, expected: DiffPlan): void {
  const flat = (plan: DiffPlan) => [
    ...plan.install.map((e) => ['install', e] as const),
    ...plan.upgrade.flatMap((u) => [['upgrade.from', u.from] as const, ['upgrade.to', u.to] as const]),
    ...plan.remove.map((e) => ['remove', e] as const),
    ...plan.keep.flatMap((k) => [['keep.installed', k.installed] as const, ['keep.desired', k.desired] as const]),
  ];
  const a = flat(actual);
  const b = flat(expected);
  const firstDifference = a.findIndex(([list, e], i) => list !== b[i]?.[0] || e !== b[i]?.[1]);
  // One assertion per plan (100 000-entry plans would otherwise cost 100 000 expect calls).
  expect(firstDifference === -1 && a.length === b.length ? 'same' : { at: firstDifference, actual: a[firstDifference], expected: b[firstDifference] }).toBe('same');
}

const names = (list: PackageEntry[]) => list.map((e) => e.name);

// Names from a small alphabet collide often (duplicates, shared prefixes, equal names across
// sides); the rest cover ASCII, BMP, astral characters and lone surrogates.
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nameArbitrary = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀', '\uffff', '\u0000'), minLength: 1, maxLength: 4 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.string({ unit: fc.oneof(fc.constantFrom('x', 'y'), loneSurrogate), minLength: 1, maxLength: 5 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).map((s) => `python3-${s}`),
);
const version = fc.constantFrom('1', '2', '1.0', '');
const digest = fc.option(fc.constantFrom('a', 'b'), { nil: undefined });
const manifest = fc.uniqueArray(fc.record({ name: nameArbitrary, version, digest }, { requiredKeys: ['name', 'version'] }), {
  selector: (e) => e.name,
  maxLength: 60,
});

describe.each(DIFF_ENGINES)('diff (%s engine)', (variant) => {
  it('classifies install, upgrade, remove and keep, sorted by name, with the caller objects', async () => {
    const e = await engines(variant);
    const installed = [entry('zlib', '1.2'), entry('curl', '7'), entry('openssl', '3.0'), entry('old', '1')];
    const desired = [entry('openssl', '3.1'), entry('curl', '7'), entry('new', '1'), entry('zlib', '1.2'), entry('another', '2')];
    const plan = e.diff(installed, desired);
    expect(names(plan.install)).toEqual(['another', 'new']);
    expect(plan.upgrade).toEqual([{ from: installed[2], to: desired[0] }]);
    expect(plan.upgrade[0]?.from).toBe(installed[2]);
    expect(names(plan.remove)).toEqual(['old']);
    expect(plan.keep.map((k) => k.desired.name)).toEqual(['curl', 'zlib']);
    expect(plan.keep[0]?.installed).toBe(installed[1]);
    expect(plan.keep[0]?.desired).toBe(desired[1]);
  });

  it('a digest difference is an upgrade only when both sides give a digest', async () => {
    const e = await engines(variant);
    const installed = [entry('a', '1', { digest: 'x' }), entry('b', '1', { digest: 'x' }), entry('c', '1'), entry('d', '1', { digest: 'x' })];
    const desired = [entry('a', '1', { digest: 'y' }), entry('b', '1'), entry('c', '1', { digest: 'y' }), entry('d', '1', { digest: 'x', optional: true })];
    const plan = e.diff(installed, desired);
    expect(plan.upgrade.map((u) => u.to.name)).toEqual(['a']);
    expect(plan.keep.map((k) => k.desired.name)).toEqual(['b', 'c', 'd']);
  });

  it('orders names by UTF-8 bytes (code points), not UTF-16 units', async () => {
    const e = await engines(variant);
    // U+FFFF < U+10000 in UTF-8, but '\uffff' > '\ud800\udc00' in UTF-16.
    const list = ['\u{10000}', '\uffff', 'é', 'e', 'E', 'ab', 'a', '\u0000', 'a\u0000', '\ud800', '\udc00x', '\ue000'].map((n) => entry(n));
    const plan = e.diff([], list);
    expect(names(plan.install)).toEqual([...names(list)].sort(compareUtf8));
    expect(names(plan.install).slice(0, 5)).toEqual(['\u0000', 'E', 'a', 'a\u0000', 'ab']);
  });

  it('empty lists and one-sided lists', async () => {
    const e = await engines(variant);
    expect(e.diff([], [])).toEqual({ install: [], upgrade: [], remove: [], keep: [] });
    const one = [entry('only')];
    expect(e.diff(one, []).remove[0]).toBe(one[0]);
    expect(e.diff([], one).install[0]).toBe(one[0]);
  });

  it('duplicate names → DiffInputError duplicateName (installed side reported first)', async () => {
    const e = await engines(variant);
    const dup = [entry('same'), entry('other'), entry('same', '2')];
    for (const [installed, desired, side] of [
      [dup, [], 'installed'],
      [[], dup, 'desired'],
      [dup, dup, 'installed'],
      // Long shared prefixes and astral names still find their duplicate.
      [[], [entry(`${'p'.repeat(100)}😀`), entry('x'), entry(`${'p'.repeat(100)}😀`, '2')], 'desired'],
    ] as const) {
      let error: unknown;
      try {
        e.diff(installed, desired);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(DiffInputError);
      expect(error).toMatchObject({ code: 'duplicateName', side });
      expect((error as DiffInputError).packageName).toBe((side === 'installed' ? installed : desired)[(error as DiffInputError).index]?.name);
    }
  });

  it('malformed entries → DiffInputError invalidEntry with the index', async () => {
    const e = await engines(variant);
    const bad: unknown[] = [null, 'pkg', { version: '1' }, { name: '', version: '1' }, { name: 'a' }, { name: 'a', version: 1 }, { name: 'a', version: '1', digest: null }, { name: 'a', version: '1', optional: 'yes' }];
    for (const item of bad) {
      const call = () => e.diff([entry('ok'), item as PackageEntry], []);
      expect(call).toThrow(DiffInputError);
      expect(call).toThrow(expect.objectContaining({ code: 'invalidEntry', side: 'installed', index: 1 }));
    }
    expect(() => e.diff([], 'nope' as unknown as PackageEntry[])).toThrow(expect.objectContaining({ code: 'invalidEntry', side: 'desired', index: -1 }));
    // Malformed entries win over duplicates, on either side.
    expect(() => e.diff([entry('d'), entry('d')], [{} as PackageEntry])).toThrow(expect.objectContaining({ code: 'invalidEntry', side: 'desired' }));
  });

  it('random manifests (unicode names, lone surrogates) equal the reference diff', async () => {
    const e = await engines(variant);
    fc.assert(
      fc.property(manifest, manifest, (installed, desired) => {
        expectSamePlan(e.diff(installed, desired), referenceDiff(installed, desired));
      }),
      { numRuns: 300 },
    );
  });

  it('random manifests with duplicates fail exactly when the reference fails', async () => {
    const e = await engines(variant);
    const withDuplicates = fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', '😀'), version }), { maxLength: 6 });
    fc.assert(
      fc.property(withDuplicates, withDuplicates, (installed, desired) => {
        let expected: unknown;
        try {
          expected = referenceDiff(installed, desired);
        } catch (error) {
          expect(() => e.diff(installed, desired)).toThrow(expect.objectContaining({ code: (error as DiffInputError).code, side: (error as DiffInputError).side }));
          return;
        }
        expectSamePlan(e.diff(installed, desired), expected as DiffPlan);
      }),
      { numRuns: 200 },
    );
  });

  it('100 000 × 100 000 entries with 10 % changed equals the reference', async () => {
    const e = await engines(variant);
    const installed: PackageEntry[] = [];
    const desired: PackageEntry[] = [];
    for (let i = 0; i < 100_000; i++) {
      const name = `${['lib', 'python3-', 'node-', 'ü-'][i % 4]}${((i * 2654435761) >>> 0).toString(36)}-${i}`;
      installed.push(entry(name, '1'));
      if (i % 20 === 0) desired.push(entry(name, '2'));
      else if (i % 40 !== 1) desired.push(entry(name, '1'));
    }
    for (let i = 0; i < 2_500; i++) desired.push(entry(`new-${i}`));
    desired.reverse();
    const plan = e.diff(installed, desired);
    expect([plan.install.length, plan.upgrade.length, plan.remove.length, plan.keep.length]).toEqual([2_500, 5_000, 2_500, 92_500]);
    expectSamePlan(plan, referenceDiff(installed, desired));
  });

  it('names are encoded in chunks: non-ASCII in a late chunk, a surrogate pair split across a chunk boundary', async () => {
    const e = await engines(variant);
    const ascii = Array.from({ length: 700 }, (_, i) => entry(`pkg-${i}`));
    const lateUnicode = ascii.map((x, i) => (i === 300 ? entry('zé') : x));
    // The WASM loader writes 256 names per encodeInto call: a name ending in a high surrogate at
    // index 255, 511 and the next one starting with a low surrogate.
    const split = ascii.map((x, i) => (i % 256 === 255 ? entry(`${x.name}\ud83d`) : i % 256 === 0 && i > 0 ? entry(`\ude00${x.name}`) : x));
    for (const desired of [lateUnicode, split, [...split].reverse()]) {
      expectSamePlan(e.diff(ascii, desired), referenceDiff(ascii, desired));
      expectSamePlan(e.diff(desired, ascii), referenceDiff(desired, ascii));
    }
  });

  it('memory grown for a large diff is reused correctly by smaller and larger ones', async () => {
    const e = await engines(variant);
    const make = (n: number, tag: string) => Array.from({ length: n }, (_, i) => entry(`${tag}${i}`));
    for (const n of [5_000, 3, 20_000, 0, 7]) {
      const installed = make(n, 'p');
      const desired = make(n + 1, 'p').reverse();
      expectSamePlan(e.diff(installed, desired), referenceDiff(installed, desired));
    }
  });
});
