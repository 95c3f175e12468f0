/**
 * The post-build chunk merge (scripts/chunk-merge.ts) on a small split build made for the test:
 * the merged build loads, its entry and dynamic chunks export what they did, each module's code
 * runs at the same moments and in the same order as before (every fixture module records itself
 * when it is evaluated), live bindings stay live, source maps still lead to the sources, and a
 * chunk it cannot read fails the merge without touching the build.
 */
import { build, type Metafile } from 'esbuild';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeChunks } from '../../scripts/chunk-merge.ts';
import { ChunkMergeError, parseStaticImports, planMerge } from '../../scripts/chunk-plan.ts';

const mark = (name: string) => `(((globalThis as any).__seen ??= []) as string[]).push('${name}-marker');`;
const FIXTURE: Record<string, string> = {
  // a: used by the entry only; b: by the entry and lazy1 (so always loaded: joins the entry).
  'a.ts': `${mark('a')} export const A = 'a-value'; export function twice(x: number) { return x * 2; }`,
  'b.ts': `${mark('b')} import { A } from './a.ts'; export class B { value = A + '/b'; }`,
  // c: shared by lazy1 and lazy2 (a run may load either alone: stays its own module), with a live binding.
  'c.ts': `${mark('c')} export const C = 'c-value'; export let counter = 0; export function bump() { counter++; return counter; }`,
  // d: used by lazy1 and by lazy3, which only lazy1 imports (so loaded exactly when lazy1 is: joins lazy1).
  'd.ts': `${mark('d')} export const D = 'd-value';`,
  'lazy1.ts': `${mark('lazy1')} import { B } from './b.ts'; import { C, counter, bump } from './c.ts'; import { D } from './d.ts';
    export async function one() { bump(); const { three } = await import('./lazy3.ts'); return [new B().value, C, counter, D, three()]; }`,
  'lazy2.ts': `${mark('lazy2')} import { counter, bump } from './c.ts'; export function two() { bump(); return counter; }`,
  'lazy3.ts': `${mark('lazy3')} import { D } from './d.ts'; export const three = () => D + '/three';`,
  'entry.ts': `${mark('entry')} import { twice } from './a.ts'; import { B } from './b.ts';
    export const load1 = () => import('./lazy1.ts'); export const load2 = () => import('./lazy2.ts');
    export { twice, B }; export default function hello() { return 'hello'; }`,
};

let dir: string;
let splitMeta: Metafile;

/** A copy of the split build in its own folder (Node caches modules by URL). */
async function copy(name: string): Promise<string> {
  const to = join(dir, name);
  await cp(join(dir, 'split'), to, { recursive: true });
  return to;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chunk-merge-'));
  await mkdir(join(dir, 'src'));
  for (const [name, text] of Object.entries(FIXTURE)) await writeFile(join(dir, 'src', name), text);
  const result = await build({
    absWorkingDir: dir,
    entryPoints: { entry: 'src/entry.ts' },
    outdir: 'split/dist',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    minify: true,
    metafile: true,
    sourcemap: 'linked',
    logLevel: 'silent',
  });
  splitMeta = result.metafile;
  // Metafile paths are relative to the build's working folder: 'split/dist/…' → 'dist/…' of each copy.
  splitMeta = JSON.parse(JSON.stringify(splitMeta).replaceAll('split/dist/', 'dist/'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Loads the build in `root`: what each step evaluated, and what it returned. */
async function run(root: string) {
  const seen = ((globalThis as { __seen?: string[] }).__seen = []);
  const steps: unknown[] = [];
  const entry = await import(pathToFileURL(join(root, 'dist/entry.js')).href);
  steps.push(['entry', [...seen]]);
  const two = await entry.load2();
  steps.push(['lazy2', two.two(), [...seen]]);
  const one = await entry.load1();
  steps.push(['lazy1', await one.one(), [...seen]]);
  steps.push(['lazy2 again', two.two(), [...seen]]);
  steps.push(['entry api', entry.twice(21), new entry.B().value, entry.default()]);
  return { entry, steps, lazy1: one, lazy2: two };
}

describe('merging the chunks always loaded together', () => {
  it('the merged build loads and runs like the split one: same exports, same code at the same moments, live bindings', async () => {
    const split = await run(await copy('before'));
    const root = await copy('after');
    const merged = await mergeChunks(splitMeta, { cwd: root, sourcemap: true });
    expect(merged.after).toBeLessThan(merged.before);
    const after = await run(root);
    expect(after.steps).toEqual(split.steps);
    // lazy2 first: only c and lazy2 are evaluated, not lazy1's private d; c's counter is shared by both.
    expect(split.steps[1]).toEqual(['lazy2', 1, ['a-marker', 'b-marker', 'entry-marker', 'c-marker', 'lazy2-marker']]);
    expect(split.steps[3]).toEqual(['lazy2 again', 3, expect.any(Array)]);
    // Every name the entry and the dynamic chunks exported is still there, with the same behaviour.
    for (const name of Object.keys(split.entry)) expect(Object.keys(after.entry), name).toContain(name);
    expect(Object.keys(after.lazy1)).toEqual(expect.arrayContaining(Object.keys(split.lazy1)));
    expect(Object.keys(after.lazy2)).toEqual(expect.arrayContaining(Object.keys(split.lazy2)));
  });

  it('groups by load condition: shared by two lazy chunks stays apart, private to one joins it, always loaded joins the entry', async () => {
    const root = await copy('plan');
    const plan = planMerge(splitMeta, (path) => readFileSync(join(root, path), 'utf8'));
    const fileOf = (source: string) => {
      const output = Object.keys(splitMeta.outputs).find((path) => path.endsWith('.js') && Object.keys(splitMeta.outputs[path]!.inputs).includes(`src/${source}`))!;
      return plan.groupOf.get(output)!.file;
    };
    const entryOf = (source: string) => Object.keys(splitMeta.outputs).find((path) => splitMeta.outputs[path]!.entryPoint === `src/${source}`)!;
    expect(fileOf('b.ts')).toBe('dist/entry.js');
    expect(fileOf('a.ts')).toBe('dist/entry.js');
    expect(fileOf('d.ts')).toBe(entryOf('lazy1.ts'));
    expect(fileOf('c.ts')).not.toBe(entryOf('lazy1.ts'));
    expect(fileOf('c.ts')).not.toBe(entryOf('lazy2.ts'));
    expect(fileOf('lazy3.ts')).toBe(entryOf('lazy3.ts'));

    const merged = await mergeChunks(splitMeta, { cwd: root, sourcemap: true });
    const files = (await readdir(join(root, 'dist'), { recursive: true })).filter((name) => name.endsWith('.js')).map((name) => `dist/${name}`).sort();
    expect(files).toEqual(Object.keys(merged.metafile.outputs).filter((path) => path.endsWith('.js')).sort());
    expect(merged.metafile.outputs['dist/entry.js']!.entryPoint).toBe('src/entry.ts');
    expect(Object.keys(merged.metafile.outputs['dist/entry.js']!.inputs).sort()).toEqual(['src/a.ts', 'src/b.ts', 'src/entry.ts']);
    expect(merged.metafile.outputs[entryOf('lazy1.ts')]!.entryPoint).toBe('src/lazy1.ts');
  });

  it('source maps of merged modules still lead to the sources', async () => {
    const root = await copy('maps');
    await mergeChunks(splitMeta, { cwd: root, sourcemap: true });
    const lazy1 = Object.keys(splitMeta.outputs).find((path) => splitMeta.outputs[path]!.entryPoint === 'src/lazy1.ts')!;
    const code = await readFile(join(root, lazy1), 'utf8');
    const map = new SourceMap(JSON.parse(await readFile(join(root, `${lazy1}.map`), 'utf8')));
    expect(code).toContain(`//# sourceMappingURL=${lazy1.split('/').pop()}.map`);
    for (const module of ['d', 'lazy1']) {
      const at = code.indexOf(`"${module}-marker"`);
      const before = code.slice(0, at).split('\n');
      const entry = map.findEntry(before.length - 1, before.at(-1)!.length) as { originalSource?: string };
      expect(entry.originalSource, module).toMatch(new RegExp(`src/${module}\\.ts$`));
    }
  });

  it('without source maps, a rewritten module keeps no map of its code before the rewrite', async () => {
    const root = await copy('no-maps');
    const merged = await mergeChunks(splitMeta, { cwd: root });
    const maps = (await readdir(join(root, 'dist'), { recursive: true })).filter((name) => name.endsWith('.map')).map((name) => `dist/${name}`);
    expect(maps).not.toContain('dist/entry.js.map');
    expect(Object.keys(merged.metafile.outputs).filter((path) => path.endsWith('.map')).sort()).toEqual(maps.sort());
    expect(await readFile(join(root, 'dist/entry.js'), 'utf8')).not.toContain('sourceMappingURL');
  });

  it('a chunk it cannot read fails the merge with a clear error and leaves the build as it was', async () => {
    const lazy1 = Object.keys(splitMeta.outputs).find((path) => splitMeta.outputs[path]!.entryPoint === 'src/lazy1.ts')!;
    // The chunk of d.ts (merged into lazy1's module): import.meta there would name another file once merged.
    const d = Object.keys(splitMeta.outputs).find((path) => path.endsWith('.js') && Object.keys(splitMeta.outputs[path]!.inputs).includes('src/d.ts'))!;
    for (const [what, file, edit, message] of [
      ['a namespace import', lazy1, (text: string) => `import*as z from"./x.js";${text}`, /static imports at its head .* are not the ones the metafile lists/],
      ['a malformed specifier', lazy1, (text: string) => text.replace(/import\{([^}]*)\}/, 'import{$1,a as}'), /cannot read import specifier/],
      ['import.meta in a merged chunk', d, (text: string) => `${text}\nglobalThis.__url=import.meta.url;`, /uses import\.meta/],
      ['an import() of a computed name in a merged chunk', d, (text: string) => `${text}\nglobalThis.__load=(n)=>import(n);`, /calls import\(\) with a computed name/],
    ] as const) {
      const root = await copy(`bad-${what.replaceAll(' ', '-')}`);
      await writeFile(join(root, file), edit(await readFile(join(root, file), 'utf8')));
      const snapshot = await contents(root);
      const failure = mergeChunks(splitMeta, { cwd: root, sourcemap: true });
      await expect(failure, what).rejects.toThrow(ChunkMergeError);
      await expect(failure, what).rejects.toThrow(message);
      expect(await contents(root), what).toEqual(snapshot);
    }
  });

  it('reads the import head of a chunk in a folder outside the working one (metafile paths starting with ..)', () => {
    const output = { bytes: 0, inputs: {}, exports: [], imports: [{ path: '../out/chunks/b.js', kind: 'import-statement' as const }, { path: '../out/c.js', kind: 'import-statement' as const }] };
    expect(parseStaticImports('../out/chunks/a.js', 'import"./b.js";import{a as x,default as y}from"../c.js";x(y);', output)).toEqual([
      { path: '../out/chunks/b.js', names: [] },
      { path: '../out/c.js', names: [['a', 'x'], ['default', 'y']] },
    ]);
  });
});

async function contents(root: string): Promise<Record<string, string>> {
  const names = (await readdir(join(root, 'dist'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await readFile(name, 'utf8')] as const)));
}
