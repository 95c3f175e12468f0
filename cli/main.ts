/**
 * `dm-agent` command dispatcher. Each command lives in cli/commands/<name>.ts and exports `spec`
 * (name, summary, arguments, options with their help: cli/spec.ts) and `run(args, io)`. Adding a
 * command is one line in COMMANDS (and its summary in cli/summaries.ts). Modules are loaded on
 * demand, so `dm-agent hash` does not load the server and `dm-agent --help` loads none of them.
 */
import { type Command, type CommandIo, EXIT_USAGE, quietOnClosedPipe } from './io.ts';
import { type CommandSpec, formatHelp } from './spec.ts';
import { SUMMARIES } from './summaries.ts';

export interface CommandModule {
  spec: CommandSpec;
  run: Command;
}

export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('./commands/demo.ts'),
  run: () => import('./commands/run.ts'),
  server: () => import('./commands/server.ts'),
  'updates-server': () => import('./commands/updates-server.ts'),
  board: () => import('./commands/board.ts'),
  hash: () => import('./commands/hash.ts'),
  diff: () => import('./commands/diff.ts'),
  syncml: () => import('./commands/syncml.ts'),
  'omadm-server': () => import('./commands/omadm-server.ts'),
  delta: () => import('./commands/delta.ts'),
  keys: () => import('./commands/keys.ts'),
  release: () => import('./commands/release.ts'),
  trust: () => import('./commands/trust.ts'),
};

/** Own entries only: `dm-agent constructor` is an unknown command, not Object. */
const lookup = (name: string) => (Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined);

/** The command list from cli/summaries.ts: no command module is loaded unless its line is missing there. */
export async function usage(): Promise<string> {
  const names = Object.keys(COMMANDS);
  const summaries = await Promise.all(names.map(async (name) => (Object.prototype.hasOwnProperty.call(SUMMARIES, name) ? SUMMARIES[name] : (await (COMMANDS[name] as () => Promise<CommandModule>)()).spec.summary)));
  const width = Math.max(...names.map((name) => name.length));
  const lines = names.map((name, i) => `  ${name.padEnd(width)}  ${summaries[i]}`);
  return `dm-agent — device-management and firmware-update agent\n\nusage: dm-agent <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n  --help     this text (dm-agent <command> --help: that command's options)\n  --version  print the agent version\n\nexit codes: 0 ok, 1 the operation failed, 2 bad usage or unusable input (see README)\n`;
}

export async function main(args: string[], io: CommandIo = defaultIo()): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    // `dm-agent help <command>` is `dm-agent <command> --help`.
    const topic = name === 'help' && rest[0] !== undefined ? lookup(rest[0]) : undefined;
    if (topic) io.stdout(formatHelp((await topic()).spec));
    else (name === undefined ? io.stderr : io.stdout)(await usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    const { AGENT_VERSION } = await import('../agent/version.ts');
    io.stdout(`${AGENT_VERSION}\n`);
    return 0;
  }
  const load = lookup(name);
  if (!load) {
    io.stderr(`dm-agent: unknown command ${JSON.stringify(name)}\n\n${await usage()}`);
    return EXIT_USAGE;
  }
  const command = await load();
  // Help wins over everything else on the line, before any option is parsed (`--` ends options).
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (options.includes('--help') || options.includes('-h')) {
    io.stdout(formatHelp(command.spec));
    return 0;
  }
  return command.run(rest, io);
}

function defaultIo(): CommandIo {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  return { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
}
