/**
 * The post-build step that makes each group of chunks always loaded together (./chunk-plan.ts)
 * one module: esbuild bundles the group's chunk files again (it parses them, renames their
 * minified top-level names apart, and composes their source maps with the ones next to them),
 * imports of chunks of other groups stay imports (of the module now holding them, under the name
 * it exports them by), dynamic imports stay dynamic imports of the same files. A module whose
 * group is one chunk is rewritten only if it imports a merged chunk. Everything is built before
 * anything is written, so a failure leaves the build folder as esbuild wrote it, and the build
 * fails (the caller does not catch).
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { basename, posix, resolve } from 'node:path';
import { ChunkMergeError, type ChunkGroup, type MergePlan, planMerge } from './chunk-plan.ts';

export interface MergeResult {
  /** The metafile describing the merged build (inputs of a merged module: its chunks' inputs). */
  metafile: Metafile;
  /** Modules before and after. */
  before: number;
  after: number;
}

/**
 * Merges the chunks of the build in `cwd` (metafile paths are relative to it) in place and
 * returns the metafile of the result. `sourcemap`: whether the build wrote linked source maps
 * (they are then rewritten too).
 */
export async function mergeChunks(metafile: Metafile, options: { cwd?: string; sourcemap?: boolean } = {}): Promise<MergeResult> {
  const cwd = options.cwd ?? process.cwd();
  const abs = (path: string) => resolve(cwd, path);
  const sources = new Map<string, string>();
  const source = (path: string) => {
    let text = sources.get(path);
    if (text === undefined) sources.set(path, (text = readFileSync(abs(path), 'utf8')));
    return text;
  };
  const plan = planMerge(metafile, source);
  const exported = exportNames(plan, metafile);
  const isMerged = (path: string) => plan.groupOf.get(path)!.members.length > 1;
  const rewrite = plan.groups.filter((group) => group.members.length > 1 || group.members.some((m) => plan.imports.get(m)!.some((i) => isMerged(i.path))));

  const built = await Promise.all(rewrite.map((group) => buildGroup(group, plan, exported, metafile, abs, source, options.sourcemap ?? false)));

  const outputs: Metafile['outputs'] = { ...metafile.outputs };
  // The chunks merged into another module's file go, with their maps; so does the map of a rewritten module when no new one is made.
  const gone = rewrite.flatMap((group) => group.members.filter((m) => m !== group.file));
  const removed = [...gone, ...gone.map((path) => `${path}.map`)];
  if (!options.sourcemap) removed.push(...rewrite.map((group) => `${group.file}.map`));
  for (const { group, files, output } of built) {
    for (const [path, text] of files) {
      await writeFile(abs(path), text);
      if (path.endsWith('.map')) outputs[path] = { inputs: {}, imports: [], exports: [], ...outputs[path], bytes: Buffer.byteLength(text) };
    }
    outputs[group.file] = output;
  }
  for (const path of removed) {
    delete outputs[path];
    await rm(abs(path), { force: true });
  }
  const count = (o: Metafile['outputs']) => Object.keys(o).filter((p) => p.endsWith('.js')).length;
  return { metafile: { ...metafile, outputs }, before: count(metafile.outputs), after: count(outputs) };
}

/** Per chunk, the name each export a module of another group imports is exported under by the chunk's module after the merge. */
function exportNames(plan: MergePlan, metafile: Metafile): Map<string, Map<string, string>> {
  const names = new Map<string, Map<string, string>>();
  for (const group of plan.groups) {
    const single = group.members.length === 1;
    const taken = new Set<string>(group.root ? metafile.outputs[group.root]!.exports : []);
    let next = 0;
    const fresh = () => {
      for (;;) {
        const name = shortName(next++);
        if (!taken.has(name)) return name;
      }
    };
    for (const member of group.members) {
      const map = new Map<string, string>();
      const keep = single || member === group.root;
      for (const name of plan.neededOutside.get(member)!) map.set(name, keep ? name : fresh());
      names.set(member, map);
    }
  }
  return names;
}

const RESERVED = new Set(['do', 'if', 'in', 'for', 'let', 'new', 'try', 'var', 'case', 'else', 'enum', 'eval', 'null', 'this', 'true', 'void', 'with']);
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** a, b, …, Z, aa, ab, …: names the minified chunks use already (their atoms exist anyway). */
function shortName(n: number): string {
  let name = '';
  do {
    name = ALPHABET[n % ALPHABET.length] + name;
    n = Math.floor(n / ALPHABET.length) - 1;
  } while (n >= 0);
  return RESERVED.has(name) ? `${name}$` : name;
}

interface Built {
  group: ChunkGroup;
  files: [string, string][];
  output: Metafile['outputs'][string];
}

async function buildGroup(group: ChunkGroup, plan: MergePlan, exported: Map<string, Map<string, string>>, metafile: Metafile, abs: (path: string) => string, source: (path: string) => string, sourcemap: boolean): Promise<Built> {
  const original = metafile.outputs;
  const byAbs = new Map(Object.keys(original).map((path) => [abs(path), path]));
  const members = new Set(group.members);
  const from = posix.dirname(group.file);
  const relative = (target: string) => {
    const spec = posix.relative(from, target);
    return spec.startsWith('.') ? spec : `./${spec}`;
  };
  // The module's exports: the root's own (its namespace, unchanged), then what other groups import from the members.
  for (const member of group.members) {
    if (member === group.file) continue;
    // import.meta (its URL) would name the merged module's file, not the chunk's; an import() of a computed name would resolve against it.
    if (/\bimport\s*\.\s*meta\b/.test(source(member))) throw new ChunkMergeError(`${member}: uses import.meta, which would change meaning once merged into ${group.file}`);
    if (/\bimport\s*\(\s*(?!["'])/.test(source(member))) throw new ChunkMergeError(`${member}: calls import() with a computed name, which would resolve differently once merged into ${group.file}`);
  }
  const lines = group.members.map((member) => `import ${JSON.stringify(abs(member))};`);
  if (group.root) {
    const own = original[group.root]!.exports;
    if (own.length > 0) lines.push(`export { ${own.map(quoteName).join(', ')} } from ${JSON.stringify(abs(group.root))};`);
  }
  for (const member of group.members) {
    if (member === group.root) continue;
    const names = [...exported.get(member)!];
    if (names.length > 0) lines.push(`export { ${names.map(([name, as]) => `${quoteName(name)} as ${quoteName(as)}`).join(', ')} } from ${JSON.stringify(abs(member))};`);
  }
  const plugin: Plugin = {
    name: 'chunk-merge',
    setup(b) {
      b.onResolve({ filter: /^merge-entry$/ }, () => ({ path: group.file, namespace: 'merge-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'merge-entry' }, () => ({ contents: lines.join('\n'), loader: 'js', resolveDir: abs(from) }));
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace === 'merge-proxy') return { path: args.path, external: true };
        if (args.namespace === 'merge-entry') return { path: args.path };
        const importer = byAbs.get(args.importer);
        if (!importer || !args.path.startsWith('.')) throw new ChunkMergeError(`${group.file}: unexpected import of ${args.path} from ${args.importer}`);
        const target = posix.join(posix.dirname(importer), args.path);
        if (!original[target]) throw new ChunkMergeError(`${importer}: imports ${args.path}, not a file of the build`);
        if (args.kind === 'dynamic-import') {
          if (plan.groupOf.get(target)!.file !== target) throw new ChunkMergeError(`${importer}: the dynamic import of ${target} would lose its module`);
          return { path: relative(target), external: true };
        }
        if (args.kind !== 'import-statement') throw new ChunkMergeError(`${importer}: unexpected ${args.kind} of ${args.path}`);
        return members.has(target) ? { path: abs(target) } : { path: target, namespace: 'merge-proxy' };
      });
      b.onLoad({ filter: /.*/, namespace: 'merge-proxy' }, (args) => {
        const target = args.path;
        const into = plan.groupOf.get(target)!.file;
        // Only what this group's chunks import from it: esbuild keeps every binding an external import names.
        const used = new Set(group.members.flatMap((m) => plan.imports.get(m)!.filter((i) => i.path === target).flatMap((i) => i.names.map(([name]) => name))));
        const names = [...exported.get(target)!].filter(([name]) => used.has(name));
        const spec = JSON.stringify(relative(into));
        return { contents: names.length > 0 ? `export { ${names.map(([name, as]) => `${quoteName(as)} as ${quoteName(name)}`).join(', ')} } from ${spec};` : `import ${spec};`, loader: 'js' };
      });
    },
  };
  const result = await build({
    entryPoints: ['merge-entry'],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    metafile: true,
    write: false,
    outfile: abs(group.file),
    sourcemap: sourcemap ? 'linked' : false,
    logLevel: 'silent',
    plugins: [plugin],
  }).catch((error: Error) => {
    throw new ChunkMergeError(`merging ${group.members.join(', ')}: ${error.message}`);
  });
  const files: [string, string][] = result.outputFiles.map((file) => [posix.join(from, basename(file.path)), file.text]);
  const js = files.find(([path]) => path === group.file);
  if (!js) throw new ChunkMergeError(`merging into ${group.file}: esbuild wrote ${files.map(([p]) => p).join(', ')}`);
  const out = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  const inputs: Metafile['outputs'][string]['inputs'] = {};
  for (const member of group.members) Object.assign(inputs, original[member]!.inputs);
  const imports: Metafile['outputs'][string]['imports'] = [];
  const seen = new Set<string>();
  for (const member of group.members) {
    for (const i of original[member]!.imports) {
      const target = i.kind === 'import-statement' ? plan.groupOf.get(i.path)!.file : i.path;
      if ((i.kind === 'import-statement' && members.has(i.path)) || seen.has(`${i.kind} ${target}`)) continue;
      seen.add(`${i.kind} ${target}`);
      imports.push({ path: target, kind: i.kind });
    }
  }
  checkImports(group, js[1], imports);
  const rootOutput = group.root ? original[group.root]! : undefined;
  return {
    group,
    files,
    output: {
      ...(rootOutput?.entryPoint !== undefined ? { entryPoint: rootOutput.entryPoint } : {}),
      bytes: Buffer.byteLength(js[1]),
      inputs,
      imports,
      exports: out.exports,
    },
  };
}

/** The merged module must import what its graph says and nothing else: a sibling it names but does not import would be missing at run time. */
function checkImports(group: ChunkGroup, text: string, imports: Metafile['outputs'][string]['imports']): void {
  const from = posix.dirname(group.file);
  const written = new Set<string>();
  for (const match of text.matchAll(/(?:^|[;\s}])(?:import\s*(?:\{[^}]*\}\s*from\s*)?|export\s*(?:\{[^}]*\}|\*)\s*from\s*)"([^"]+)"/g)) written.add(posix.join(from, match[1]!));
  const expected = new Set(imports.filter((i) => i.kind === 'import-statement').map((i) => i.path));
  for (const path of expected) if (!written.has(path)) throw new ChunkMergeError(`${group.file}: the merged module lost its import of ${path}`);
  for (const path of written) if (!expected.has(path)) throw new ChunkMergeError(`${group.file}: the merged module imports ${path}, which its chunks did not`);
}

function quoteName(name: string): string {
  return /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u.test(name) ? name : JSON.stringify(name);
}
