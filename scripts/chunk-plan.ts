/**
 * Which of esbuild's output chunks are always loaded together, and so can be one module (see
 * ./chunk-merge.ts, which rewrites them). esbuild's code splitting makes one chunk per distinct set
 * of entry points (the build's entry and every dynamic `import()` target) that use some code; in
 * QuickJS every module costs heap of its own (its record, import/export entries, a var-ref per
 * binding, the module function), so a cycle that loads 30 small modules pays for 30.
 *
 * A chunk C is loaded as soon as one of the roots whose static closure holds it is (R(C)). Root Y
 * *implies* root X when X dominates Y in the graph of dynamic imports: every way to reach Y's
 * `import()` runs code that is only loaded once X is, so X is loaded first. R(C) minus the roots
 * implied by another root of R(C) (its condition) says exactly when C is loaded; chunks with the
 * same condition are loaded at the same moments in every run, and are merged. A chunk some run
 * does not load therefore never joins a module that run loads. Missing an implication only loses
 * a merge, never laziness.
 */
import type { Metafile } from 'esbuild';
import { posix } from 'node:path';

export class ChunkMergeError extends Error {
  override name = 'ChunkMergeError';
}

/** One static `import` statement at the head of a chunk, as esbuild writes them. */
export interface StaticImport {
  /** The imported chunk's output path (as in the metafile: 'dist/agent-chunks/x.js'). */
  path: string;
  /** [imported name, local name] pairs; empty for a side-effect import (`import"./x.js"`). */
  names: [string, string][];
}

export interface ChunkGroup {
  /** Output path of the merged module: the root's (its dynamic imports and entry name stay valid) or the first member's. */
  file: string;
  /** The group's root (entry or dynamic-import target), if it holds one. */
  root?: string;
  /** Output paths, in the order ESM evaluates them today. */
  members: string[];
}

export interface MergePlan {
  groups: ChunkGroup[];
  groupOf: Map<string, ChunkGroup>;
  /** Per chunk: the names other groups import from it (the merged module must export them). */
  neededOutside: Map<string, Set<string>>;
  /** Per chunk: its static imports, parsed. */
  imports: Map<string, StaticImport[]>;
}

type Outputs = Metafile['outputs'];

const IDENT = String.raw`[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*`;
const STRING = String.raw`"((?:[^"\\\n]|\\.)*)"`;
const SIDE_EFFECT = new RegExp(String.raw`\s*import\s*${STRING}\s*;?`, 'uy');
const NAMED = new RegExp(String.raw`\s*import\s*\{([^}]*)\}\s*from\s*${STRING}\s*;?`, 'uy');
const SPECIFIER = new RegExp(String.raw`^\s*(${IDENT}|default)(?:\s+as\s+(${IDENT}))?\s*$`, 'u');

/**
 * The static imports at the head of a chunk (esbuild hoists them all there: `import"./a.js";` or
 * `import{a as b,c}from"./b.js";`). They must be every static import the metafile lists: anything
 * else (a namespace or default import, an import after the head) fails the build.
 */
export function parseStaticImports(path: string, source: string, output: Outputs[string]): StaticImport[] {
  const dir = posix.dirname(path);
  const found: StaticImport[] = [];
  let at = 0;
  for (;;) {
    SIDE_EFFECT.lastIndex = at;
    NAMED.lastIndex = at;
    const side = SIDE_EFFECT.exec(source);
    const named = side ? null : NAMED.exec(source);
    const match = side ?? named;
    if (!match) break;
    const specifier = (side ? side[1] : named![2])!;
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) throw new ChunkMergeError(`${path}: static import of ${JSON.stringify(specifier)} is not a sibling chunk`);
    const names: [string, string][] = [];
    if (named) {
      for (const part of named[1]!.split(',')) {
        if (part.trim() === '') continue;
        const spec = SPECIFIER.exec(part);
        if (!spec) throw new ChunkMergeError(`${path}: cannot read import specifier ${JSON.stringify(part)} from ${specifier}`);
        names.push([spec[1]!, spec[2] ?? spec[1]!]);
      }
    }
    found.push({ path: posix.normalize(posix.join(dir, specifier)), names });
    at = match.index + match[0].length;
  }
  const expected = output.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path).sort();
  const parsed = found.map((i) => i.path).sort();
  if (JSON.stringify(expected) !== JSON.stringify(parsed)) {
    throw new ChunkMergeError(`${path}: the static imports at its head (${parsed.join(', ') || 'none'}) are not the ones the metafile lists (${expected.join(', ') || 'none'}); is the chunk format esbuild's?`);
  }
  return found;
}

/** The groups of chunks loaded at the same moments in every run (see the top of this file). */
export function planMerge(metafile: Metafile, sources: (path: string) => string): MergePlan {
  const outputs: Outputs = Object.fromEntries(Object.entries(metafile.outputs).filter(([path]) => path.endsWith('.js')));
  const paths = Object.keys(outputs);
  const imports = new Map(paths.map((path) => [path, parseStaticImports(path, sources(path), outputs[path]!)]));
  for (const [path, list] of imports) for (const i of list) if (!outputs[i.path]) throw new ChunkMergeError(`${path} imports ${i.path}, which the build did not write`);

  const dynamicTargets = new Set<string>();
  for (const output of Object.values(outputs)) {
    for (const i of output.imports) {
      if (i.kind !== 'dynamic-import') continue;
      if (i.external || !outputs[i.path]) throw new ChunkMergeError(`dynamic import of ${i.path}, which is not one of the build's chunks`);
      dynamicTargets.add(i.path);
    }
  }
  const roots = paths.filter((path) => outputs[path]!.entryPoint !== undefined || dynamicTargets.has(path));
  const entries = roots.filter((path) => !dynamicTargets.has(path));
  if (entries.length === 0) throw new ChunkMergeError('the build has no entry point that is not a dynamic-import target');

  // R(C): the roots whose static closure holds C.
  const rootsOf = new Map<string, Set<string>>(paths.map((path) => [path, new Set()]));
  for (const root of roots) {
    const walk = (path: string) => {
      const set = rootsOf.get(path)!;
      if (set.has(root)) return;
      set.add(root);
      for (const i of imports.get(path)!) walk(i.path);
    };
    walk(root);
  }

  // Dominators over roots: a virtual start precedes every entry; r → Y when a chunk of r's closure imports Y dynamically.
  const START = '\0start';
  const preds = new Map<string, Set<string>>(roots.map((root) => [root, new Set(entries.includes(root) ? [START] : [])]));
  for (const [path, output] of Object.entries(outputs)) {
    for (const i of output.imports) if (i.kind === 'dynamic-import') for (const r of rootsOf.get(path)!) preds.get(i.path)!.add(r);
  }
  const all = new Set([START, ...roots]);
  const dom = new Map<string, Set<string>>([[START, new Set([START])], ...roots.map((root) => [root, new Set(all)] as [string, Set<string>])]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const root of roots) {
      const incoming = [...preds.get(root)!];
      let next: Set<string>;
      if (incoming.length === 0) next = new Set();
      else {
        next = new Set(dom.get(incoming[0]!)!);
        for (const p of incoming.slice(1)) for (const d of next) if (!dom.get(p)!.has(d)) next.delete(d);
      }
      next.add(root);
      if (next.size !== dom.get(root)!.size) {
        dom.set(root, next);
        changed = true;
      }
    }
  }

  // The order ESM evaluates the chunks in (post-order from the entries, then the other roots).
  const order: string[] = [];
  const visited = new Set<string>();
  const visit = (path: string) => {
    if (visited.has(path)) return;
    visited.add(path);
    for (const i of imports.get(path)!) visit(i.path);
    order.push(path);
  };
  [...entries, ...roots].forEach(visit);
  paths.forEach(visit);

  // Group by condition: R(C) without the roots another root of R(C) implies (dominates).
  const byCondition = new Map<string, string[]>();
  for (const path of order) {
    const r = [...rootsOf.get(path)!];
    const condition = r.filter((y) => !r.some((x) => x !== y && dom.get(y)!.has(x))).sort();
    const key = condition.join('\n');
    byCondition.set(key, [...(byCondition.get(key) ?? []), path]);
  }
  const groups: ChunkGroup[] = [];
  for (const members of byCondition.values()) {
    const inGroupRoots = members.filter((path) => roots.includes(path));
    // Two roots loaded at the same moments keep their own modules: each dynamic import needs its own namespace.
    for (const extra of inGroupRoots.slice(1)) groups.push({ file: extra, root: extra, members: [extra] });
    const rest = members.filter((path) => !inGroupRoots.slice(1).includes(path));
    const root = inGroupRoots[0];
    groups.push({ file: root ?? rest[0]!, ...(root ? { root } : {}), members: rest });
  }
  const groupOf = new Map<string, ChunkGroup>();
  for (const group of groups) for (const member of group.members) groupOf.set(member, group);

  const neededOutside = new Map<string, Set<string>>(paths.map((path) => [path, new Set()]));
  for (const [path, list] of imports) {
    for (const i of list) if (groupOf.get(i.path) !== groupOf.get(path)) for (const [name] of i.names) neededOutside.get(i.path)!.add(name);
  }
  checkAcyclic(groups, groupOf, imports);
  return { groups, groupOf, neededOutside, imports };
}

/** Merged modules must import each other without cycles (the chunks do not have any): otherwise evaluation order would change. */
function checkAcyclic(groups: ChunkGroup[], groupOf: Map<string, ChunkGroup>, imports: Map<string, StaticImport[]>): void {
  const state = new Map<ChunkGroup, 'open' | 'done'>();
  const walk = (group: ChunkGroup, trail: string[]) => {
    if (state.get(group) === 'done') return;
    if (state.get(group) === 'open') throw new ChunkMergeError(`merging would make modules import each other in a cycle: ${[...trail, group.file].join(' → ')}`);
    state.set(group, 'open');
    for (const member of group.members) for (const i of imports.get(member)!) if (groupOf.get(i.path) !== group) walk(groupOf.get(i.path)!, [...trail, group.file]);
    state.set(group, 'done');
  };
  for (const group of groups) walk(group, []);
}
