/**
 * `dm-agent` command dispatcher. Each command lives in cli/commands/<name>.ts and exports `spec`
 * (name, summary, arguments, options with their help: cli/spec.ts) and `run(args, io)`. Adding a
 * command is one line in COMMANDS. Modules are loaded on demand, so `dm-agent hash` does not
 * load the server.
 */
import { type Command, type CommandIo, EXIT_USAGE, quietOnClosedPipe } from './io.ts';
import { type CommandSpec, formatHelp } from './spec.ts';

export interface CommandModule {
  spec: CommandSpec;
  run: Command;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('./commands/demo.ts'),
  run: () => import('./commands/run.ts'),
  server: () => import('./commands/server.ts'),
  'updates-server': () => import('./commands/updates-server.ts'),
  board: () => import('./commands/board.ts'),
  hash: () => import('./commands/hash.ts'),
  diff: () => import('./commands/diff.ts'),
  // From main, before its command spec exists (merge of cli-fuzz into pkgdb): a spec here so the
  // table stays one shape; its own USAGE text still lists the sub-commands' options.
  syncml: async () => ({
    spec: { name: 'syncml', summary: 'SyncML codec: dm-agent syncml decode <file|-> [--json] | encode --wbxml <xml> | encode --xml <wbxml>', args: 'decode <file|-> | encode --wbxml <xml|-> | encode --xml <wbxml|->', options: [] },
    run: (await import('./commands/syncml.ts')).run,
  }),
};

/** Own entries only: `dm-agent constructor` is an unknown command, not Object. */
const lookup = (name: string) => (Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined);

export async function usage(): Promise<string> {
  const specs = await Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).spec));
  const width = Math.max(...specs.map((spec) => spec.name.length));
  const lines = specs.map((spec) => `  ${spec.name.padEnd(width)}  ${spec.summary}`);
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
