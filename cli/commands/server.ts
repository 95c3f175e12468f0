/**
 * `dm-agent server`: runs the reference manager until SIGINT/SIGTERM (or, in tests, until the
 * `signal` passed as third argument aborts), then closes and exits 0.
 */
import { readFile } from 'node:fs/promises';
import { FleetError, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { ManagerOptionsError } from '../../server/manager.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseOptions, untilStopped } from '../io.ts';

const USAGE =
  'usage: dm-agent server --fleet <fleet.json> [--host 127.0.0.1] [--port 8080] [--address URL] [--clock-offset-ms N] [--data-dir DIR] [--tls-cert F --tls-key F] [--quiet]';

export interface ServerRunOptions {
  /** Stops the server like SIGINT does. */
  signal?: AbortSignal;
  /** Called once listening (tests use it to find the port). */
  onListening?: (server: RunningManager) => void;
}

export async function run(args: string[], io: CommandIo, options: ServerRunOptions = {}): Promise<number> {
  const { positional, options: opts, unknown } = parseOptions(args, ['quiet'], ['fleet', 'host', 'port', 'address', 'clock-offset-ms', 'data-dir', 'tls-cert', 'tls-key']);
  const problems = [...unknown, ...positional.map((arg) => `unexpected argument ${JSON.stringify(arg)}`)];
  const text = (name: string): string | undefined => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
  const integer = (name: string, min: number, max: number): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      problems.push(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return Number(value);
  };
  const fleetFile = text('fleet');
  if (fleetFile === undefined) problems.push('--fleet <fleet.json> is required');
  const port = integer('port', 0, 65535) ?? 8080;
  const clockOffsetMs = integer('clock-offset-ms', -(10 ** 12), 10 ** 12) ?? 0;
  const [certFile, keyFile] = [text('tls-cert'), text('tls-key')];
  if ((certFile === undefined) !== (keyFile === undefined)) problems.push('--tls-cert and --tls-key go together');
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let tls: { cert: string; key: string } | undefined;
  try {
    if (certFile !== undefined && keyFile !== undefined) tls = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (error) {
    io.stderr(`cannot read the TLS certificate or key: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  let server: RunningManager;
  try {
    const fleet = await readFleetFile(fleetFile!);
    const log = opts.quiet ? undefined : (line: string) => io.stdout(`${new Date().toISOString()} ${line}\n`);
    const setup: Parameters<typeof startServer>[0] = { fleet, clockOffsetMs };
    const address = text('address');
    const dataDir = text('data-dir');
    if (address !== undefined) setup.address = address;
    if (dataDir !== undefined) setup.dataDir = dataDir;
    if (log) setup.log = log;
    server = await startServer(setup, { host: text('host') ?? '127.0.0.1', port, ...(tls ? { tls } : {}) });
  } catch (error) {
    if (error instanceof FleetError || error instanceof ManagerOptionsError) {
      io.stderr(`${fleetFile}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`cannot start the server: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }

  io.stdout(`manager listening on ${server.url} (address ${server.manager.address}, UTC offset ${clockOffsetMs} ms)\n`);
  options.onListening?.(server);
  await untilStopped(options.signal);
  await server.close();
  await server.manager.flush();
  io.stdout('manager stopped\n');
  return EXIT_OK;
}
