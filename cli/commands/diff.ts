/**
 * `dm-agent diff <installed.json> <desired.json> [--json] [--engine wasm|js]`: the plan that turns
 * the installed package list into the desired one. Each file is a JSON array of
 * {"name", "version", "digest"?, "optional"?}. With --json:
 *   {"install":[{name,version}],"upgrade":[{name,from,to}],"remove":[{name,version}],"keep":[{name,version}]}
 * every list sorted by name in UTF-8 byte order; otherwise a readable listing of the changes.
 */
import { readFile } from 'node:fs/promises';
import { DiffInputError, loadEngines, type DiffPlan, type EngineKind, type PackageEntry } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseOptions, fileProblem } from '../io.ts';

const USAGE = 'usage: dm-agent diff <installed.json> <desired.json> [--json] [--engine wasm|js]';

class InputError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.exitCode = exitCode;
  }
}

async function readList(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const problem = fileProblem(file, error);
    throw new InputError(problem.message, problem.code);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`${file}: malformed JSON: ${(error as Error).message}`);
  }
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

export function planToText(plan: DiffPlan): string {
  const lines: string[] = [];
  const section = (title: string, items: string[]) => {
    lines.push(`${title} (${items.length})`);
    for (const item of items) lines.push(`  ${item}`);
  };
  section('install', plan.install.map((e) => `+ ${shown(e.name)} ${shown(e.version)}`));
  section(
    'upgrade',
    plan.upgrade.map((u) => (u.from.version === u.to.version ? `~ ${shown(u.to.name)} ${shown(u.to.version)} (digest changed)` : `~ ${shown(u.to.name)} ${shown(u.from.version)} -> ${shown(u.to.version)}`)),
  );
  section('remove', plan.remove.map((e) => `- ${shown(e.name)} ${shown(e.version)}`));
  lines.push(`keep (${plan.keep.length}) unchanged`);
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, unknown } = parseOptions(args, ['json'], ['engine']);
  const engine = options['engine'];
  const problems = [...unknown];
  if (positional.length !== 2) problems.push('expected <installed.json> and <desired.json>');
  if (engine !== undefined && engine !== 'wasm' && engine !== 'js') problems.push(`--engine must be wasm or js, got ${String(engine)}`);
  if (problems.length > 0) {
    io.stderr(`dm-agent diff: ${problems.join('; ')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
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
    io.stdout(options['json'] ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : planToText(plan));
    return EXIT_OK;
  } catch (error) {
    // Bad input is exit 2; anything else (e.g. --engine wasm without built modules) exit 1, and
    // never a stack trace.
    io.stderr(`dm-agent diff: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof InputError ? error.exitCode : EXIT_FAILED;
  }
}
