import { checkBoard } from '../../agent/board.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, InputError, readJsonFile } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

export const spec: CommandSpec = {
  name: 'board',
  summary: 'validate board profiles: dm-agent board check <board.json>...',
  args: 'check <board.json>...',
  options: [],
  notes: 'Prints "<file>: ok" per good profile, every problem of a bad one (exit 1 when any has problems).\nThe rules are in agent/board.ts; boards/schema/board.schema.json is generated from them.',
};

/** `dm-agent board check <file>...`: validates board profiles; exit 0 only when all are good. */
export async function run(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  const { positional: files, problems } = parseArgs(spec.options, rest);
  if (sub !== 'check') problems.unshift(sub === undefined ? 'missing the subcommand check' : `unknown subcommand ${JSON.stringify(sub)}`);
  else if (files.length === 0) problems.push('missing <board.json>');
  if (problems.length > 0) return usageError(io, spec, problems);
  let worst = EXIT_OK;
  for (const file of files) {
    let json: unknown;
    try {
      json = await readJsonFile(file);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // A file that cannot be used is bad input, as in every command (exit 2 beats 1).
      io.stderr(`dm-agent board: ${error.message}\n`);
      worst = Math.max(worst, error.exitCode === EXIT_FAILED ? EXIT_FAILED : EXIT_USAGE);
      continue;
    }
    const issues = checkBoard(json);
    if (issues.length === 0) io.stdout(`${file}: ok\n`);
    else {
      worst = Math.max(worst, EXIT_FAILED);
      io.stderr(`${file}: ${issues.length} problem${issues.length > 1 ? 's' : ''}\n`);
      for (const issue of issues) io.stderr(`  ${issue.path || '(root)'}: ${issue.message}\n`);
    }
  }
  return worst;
}
