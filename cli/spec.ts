/**
 * How a command declares itself: name, one-line summary, arguments and options, each with its
 * help. `dm-agent <cmd> --help` prints `formatHelp(spec)`, and the command parses its arguments
 * with `parseArgs(spec, args)`, so the help cannot list an option the parser does not know (or
 * miss one it does). A new command exports `spec` and `run`, is added to the table in
 * cli/main.ts and its summary line to cli/summaries.ts (test/cli/summaries.test.ts checks both).
 */
import { type CommandIo, EXIT_USAGE } from './io.ts';

export interface OptionSpec {
  /** Without the dashes: `board` for `--board`. */
  name: string;
  /** Placeholder of the value (`FILE`, `N`); absent for a flag. */
  value?: string;
  help: string;
  /** Given more than once, the values are joined with commas (for comma-separated lists). */
  repeatable?: boolean;
}

export interface CommandSpec {
  name: string;
  /** One line for `dm-agent --help`. */
  summary: string;
  /** The arguments after the command name, e.g. `<file>` or `check <board.json>...`. */
  args: string;
  options: readonly OptionSpec[];
  /** More text under the options (what the output looks like, examples). */
  notes?: string;
}

export interface ParsedArgs {
  positional: string[];
  options: Record<string, string | true>;
  /** Unknown options, missing values, flags given a value: each a sentence. */
  problems: string[];
}

/** Parses `--name value`, `--name=value` (the value may contain `=`) and `--flag`; `--` ends the options. */
export function parseArgs(options: readonly OptionSpec[], args: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], options: {}, problems: [] };
  const byName = new Map(options.map((option) => [option.name, option]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      parsed.positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      parsed.positional.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
    const option = byName.get(name);
    if (!option) parsed.problems.push(`unknown option --${name}`);
    else if (option.value === undefined) {
      if (inline !== undefined) parsed.problems.push(`--${name} takes no value`);
      else parsed.options[name] = true;
    } else {
      const value = inline ?? args[++i];
      if (value === undefined) parsed.problems.push(`--${name} needs a value (${option.value})`);
      else {
        const before = parsed.options[name];
        parsed.options[name] = option.repeatable && typeof before === 'string' ? `${before},${value}` : value;
      }
    }
  }
  return parsed;
}

export const usageLine = (spec: CommandSpec): string =>
  `usage: dm-agent ${spec.name}${spec.args ? ` ${spec.args}` : ''}${spec.options.length > 0 ? ' [options]' : ''}`;

export function formatHelp(spec: CommandSpec): string {
  const lines = [`dm-agent ${spec.name} — ${spec.summary}`, '', usageLine(spec)];
  if (spec.options.length > 0) {
    const left = spec.options.map((o) => `--${o.name}${o.value ? ` ${o.value}` : ''}`);
    const width = Math.max(...left.map((l) => l.length));
    lines.push('', 'options:', ...spec.options.map((o, i) => `  ${(left[i] as string).padEnd(width)}  ${o.help}`));
  }
  lines.push(`  ${'--help'.padEnd(Math.max(6, ...spec.options.map((o) => o.name.length + 2 + (o.value ? o.value.length + 1 : 0))))}  this text`);
  if (spec.notes) lines.push('', spec.notes.trimEnd());
  lines.push('', 'exit codes: 0 ok, 1 the operation failed, 2 bad usage or unusable input (see README)');
  return `${lines.join('\n')}\n`;
}

/** Prints the problems, the usage line and where the help is; returns EXIT_USAGE. */
export function usageError(io: CommandIo, spec: CommandSpec, problems: readonly string[]): number {
  io.stderr(`${problems.map((p) => `dm-agent ${spec.name}: ${p}\n`).join('')}${usageLine(spec)}\n(dm-agent ${spec.name} --help lists the options)\n`);
  return EXIT_USAGE;
}
