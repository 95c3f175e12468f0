/**
 * `dm-agent` command dispatcher. Each command lives in cli/commands/<name>.ts and exports
 * `run(args, io)`; commands are loaded on demand so `dm-agent hash` does not pay for the server.
 */
import { type Command, type CommandIo, EXIT_USAGE } from './io.ts';
import { ownValue } from '../agent/util/own.ts';

interface Entry {
  summary: string;
  load: () => Promise<{ run: Command }>;
}

const COMMANDS: Record<string, Entry> = {
  demo: { summary: 'start the reference server and a simulated board, converge, print a summary', load: () => import('./commands/demo.ts') },
  run: { summary: 'run the agent: dm-agent run --board <board.json> --config <config.json>', load: () => import('./commands/run.ts') },
  server: { summary: 'start the reference server (manager): dm-agent server --fleet <fleet.json> [--port N]', load: () => import('./commands/server.ts') },
  'updates-server': { summary: 'start the reference device update web service: dm-agent updates-server --data-dir DIR [--import FOLDER]', load: () => import('./commands/updates-server.ts') },
  board: { summary: 'validate board profiles: dm-agent board check <board.json>...', load: () => import('./commands/board.ts') },
  hash: { summary: 'print a file digest: dm-agent hash <file> [--algo sha256|md5] [--engine wasm|js]', load: () => import('./commands/hash.ts') },
  diff: { summary: 'plan a package list change: dm-agent diff <installed.json> <desired.json> [--json]', load: () => import('./commands/diff.ts') },
  delta: { summary: 'apply a VCDIFF/bsdiff patch: dm-agent delta apply <source> <patch> <out> [--format vcdiff|bsdiff]', load: () => import('./commands/delta.ts') },
  syncml: { summary: 'SyncML codec: dm-agent syncml decode <file|-> [--json] | encode --wbxml <xml> | encode --xml <wbxml>', load: () => import('./commands/syncml.ts') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `dm-agent — device-management and firmware-update agent\n\nusage: dm-agent <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n  --help     this text\n  --version  print the agent version\n`;
}

export async function main(args: string[], io: CommandIo = defaultIo()): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    const { AGENT_VERSION } = await import('../agent/version.ts');
    io.stdout(`${AGENT_VERSION}\n`);
    return 0;
  }
  const entry = ownValue(COMMANDS, name); // `dm-agent constructor` is an unknown command, not Object
  if (!entry) {
    io.stderr(`dm-agent: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`dm-agent ${name}: ${entry.summary}\n`);
    return 0;
  }
  const command = await entry.load();
  return command.run(rest, io);
}

function defaultIo(): CommandIo {
  return { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
}
