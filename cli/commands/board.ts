import { readFile } from 'node:fs/promises';
import { checkBoard } from '../../agent/board.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileErrorReason, parseOptions } from '../io.ts';

const USAGE = 'usage: dm-agent board check <board.json>...';

/** `dm-agent board check <file>...`: validates board profiles; exit 0 only when all are good. */
export async function run(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'check') {
    io.stderr(`${USAGE}\n`);
    return EXIT_USAGE;
  }
  const { positional: files, unknown } = parseOptions(rest, [], []);
  if (unknown.length > 0 || files.length === 0) {
    io.stderr(`${unknown.join('\n')}${unknown.length ? '\n' : ''}${USAGE}\n`);
    return EXIT_USAGE;
  }
  let bad = 0;
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      io.stderr(`${file}: cannot read: ${fileErrorReason(error)}\n`);
      bad++;
      continue;
    }
    const issues = checkBoard(json);
    if (issues.length === 0) io.stdout(`${file}: ok\n`);
    else {
      bad++;
      io.stderr(`${file}: ${issues.length} problem${issues.length > 1 ? 's' : ''}\n`);
      for (const issue of issues) io.stderr(`  ${issue.path || '(root)'}: ${issue.message}\n`);
    }
  }
  return bad === 0 ? EXIT_OK : EXIT_FAILED;
}
