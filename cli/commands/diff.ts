/**
 * `dm-agent diff <installed.json> <desired.json> [--json] [--engine wasm|js]`: the plan that turns
 * the installed package list into the desired one. Each file is a JSON array of
 * {"name", "version", "digest"?, "optional"?}. With --json:
 *   {"install":[{name,version}],"upgrade":[{name,from,to}],"remove":[{name,version}],"keep":[{name,version}]}
 * every list sorted by name in UTF-8 byte order; otherwise a readable listing of the changes.
 * Files of any size: large lists are read in chunks (cli/json-list.ts) and the plan is written a
 * batch of entries at a time, so neither side needs one string holding a whole file.
 */
import { DiffInputError, loadEngines, type DiffPlan, type EngineKind, type PackageEntry } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText, fileProblem, InputError, malformedJson } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';
import { JsonListError, readJsonList } from '../json-list.ts';

export const spec: CommandSpec = {
  name: 'diff',
  summary: 'plan a package list change: dm-agent diff <installed.json> <desired.json> [--json]',
  args: '<installed.json> <desired.json>',
  options: [
    { name: 'json', help: 'print the plan as JSON (install, upgrade, remove, keep; sorted by name)' },
    { name: 'engine', value: 'wasm|js', help: 'diff engine (default: wasm when built, else js)' },
  ],
  notes: 'Each file is a JSON array of {"name", "version", "digest"?, "optional"?}, of any size.',
};

async function readList(file: string): Promise<unknown> {
  try {
    return await readJsonList(file);
  } catch (error) {
    if (!(error instanceof JsonListError)) {
      const problem = fileProblem(file, error);
      throw new InputError(problem.message, problem.code);
    }
    throw error.code === 'malformed' ? malformedJson(file, error.message) : new InputError(`${file}: ${error.message}`);
  }
}

/** Entries per write: bounded strings however long the plan. */
const BATCH = 1000;

function* batches<T>(items: readonly T[], format: (item: T) => string, separator: string): Generator<string> {
  for (let start = 0; start < items.length; start += BATCH) {
    const end = Math.min(items.length, start + BATCH);
    const parts: string[] = [];
    for (let i = start; i < end; i++) parts.push(format(items[i] as T));
    yield `${parts.join(separator)}${end < items.length ? separator : ''}`;
  }
}

/** The text of JSON.stringify(planToJson(plan), null, 2), in pieces of at most BATCH entries. */
export function* planJsonChunks(plan: DiffPlan): Generator<string> {
  const json = planToJson(plan) as Record<string, unknown[]>;
  const keys = Object.keys(json);
  yield '{\n';
  for (const [k, key] of keys.entries()) {
    const items = json[key] as unknown[];
    const after = k < keys.length - 1 ? ',\n' : '\n';
    if (items.length === 0) {
      yield `  ${JSON.stringify(key)}: []${after}`;
      continue;
    }
    yield `  ${JSON.stringify(key)}: [\n`;
    // An item at depth 2: its braces indented by 4, its fields by 6, as JSON.stringify does.
    yield* batches(items, (item) => `    ${JSON.stringify(item, null, 2).replace(/\n/g, '\n    ')}`, ',\n');
    yield `\n  ]${after}`;
  }
  yield '}\n';
}

export function planToJson(plan: DiffPlan): unknown {
  return {
    install: plan.install.map((e) => ({ name: e.name, version: e.version })),
    upgrade: plan.upgrade.map((u) => ({ name: u.to.name, from: u.from.version, to: u.to.version })),
    remove: plan.remove.map((e) => ({ name: e.name, version: e.version })),
    keep: plan.keep.map((k) => ({ name: k.desired.name, version: k.desired.version })),
  };
}

/** Names and versions are arbitrary strings: quote the ones that would garble a line. */
function shown(text: string): string {
  return /^[^\s\u0000-\u001f\u007f"]+$/.test(text) ? text : JSON.stringify(text);
}

export function* planTextChunks(plan: DiffPlan): Generator<string> {
  const section = function* <T>(title: string, items: readonly T[], format: (item: T) => string): Generator<string> {
    yield `${title} (${items.length})\n`;
    yield* batches(items, (item) => `  ${format(item)}\n`, '');
  };
  yield* section('install', plan.install, (e) => `+ ${shown(e.name)} ${shown(e.version)}`);
  yield* section('upgrade', plan.upgrade, (u) =>
    u.from.version === u.to.version ? `~ ${shown(u.to.name)} ${shown(u.to.version)} (digest changed)` : `~ ${shown(u.to.name)} ${shown(u.from.version)} -> ${shown(u.to.version)}`,
  );
  yield* section('remove', plan.remove, (e) => `- ${shown(e.name)} ${shown(e.version)}`);
  yield `keep (${plan.keep.length}) unchanged\n`;
}

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, problems } = parseArgs(spec.options, args);
  const engine = options['engine'];
  if (positional.length !== 2) problems.push('expected <installed.json> and <desired.json>');
  if (engine !== undefined && engine !== 'wasm' && engine !== 'js') problems.push(`--engine must be wasm or js, got ${String(engine)}`);
  if (problems.length > 0) return usageError(io, spec, problems);
  const [installedFile, desiredFile] = positional as [string, string];
  try {
    const [installed, desired] = await Promise.all([readList(installedFile), readList(desiredFile)]);
    const engines = await loadEngines({ wasm: createNodeWasmHost(), engine: (engine as EngineKind | undefined) ?? 'auto' });
    let plan: DiffPlan;
    try {
      plan = engines.diff(installed as PackageEntry[], desired as PackageEntry[]);
    } catch (error) {
      if (!(error instanceof DiffInputError)) throw error;
      throw new InputError(`${error.side === 'installed' ? installedFile : desiredFile}: ${error.message}`);
    }
    for (const chunk of options['json'] ? planJsonChunks(plan) : planTextChunks(plan)) io.stdout(chunk);
    return EXIT_OK;
  } catch (error) {
    // Bad input is exit 2; anything else (e.g. --engine wasm without built modules) exit 1, and
    // never a stack trace.
    io.stderr(`dm-agent diff: ${errorText(error)}\n`);
    return error instanceof InputError ? error.exitCode : EXIT_FAILED;
  }
}
