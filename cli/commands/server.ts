/**
 * `dm-agent server`: runs the reference manager until SIGINT/SIGTERM (or, in tests, until the
 * `signal` passed as third argument aborts), then closes and exits 0.
 */
import { readFile } from 'node:fs/promises';
import { FleetError, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { ManagerOptionsError } from '../../server/manager.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, errorText } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

export const spec: CommandSpec = {
  name: 'server',
  summary: 'start the reference server (manager): dm-agent server --fleet <fleet.json> [--port N]',
  args: '--fleet <fleet.json>',
  options: [
    { name: 'fleet', value: 'FILE', help: 'fleet file: catalogue, devices and their package lists (required)' },
    { name: 'host', value: 'ADDR', help: 'listen address (default 127.0.0.1)' },
    { name: 'port', value: 'N', help: 'listen port (default 8080; 0 picks a free one)' },
    { name: 'address', value: 'URL', help: 'the URL devices and peer managers know this manager by' },
    { name: 'clock-offset-ms', value: 'N', help: "offset added to this manager's UTC clock (roaming tests)" },
    { name: 'data-dir', value: 'DIR', help: 'where the journal lives (default: in memory only)' },
    { name: 'tls-cert', value: 'FILE', help: 'serve HTTPS with this certificate (PEM; with --tls-key)' },
    { name: 'tls-key', value: 'FILE', help: 'private key of --tls-cert (PEM)' },
    { name: 'quiet', help: 'no request log' },
  ],
  notes: 'Runs until SIGINT or SIGTERM, then exits 0.',
};

export interface ServerRunOptions {
  /** Stops the server like SIGINT does. */
  signal?: AbortSignal;
  /** Called once listening (tests use it to find the port). */
  onListening?: (server: RunningManager) => void;
}

export async function run(args: string[], io: CommandIo, options: ServerRunOptions = {}): Promise<number> {
  const { positional, options: opts, problems } = parseArgs(spec.options, args);
  problems.push(...positional.map((arg) => `unexpected argument ${JSON.stringify(arg)}`));
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
  if (problems.length > 0) return usageError(io, spec, problems);

  let tls: { cert: string; key: string } | undefined;
  try {
    if (certFile !== undefined && keyFile !== undefined) tls = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (error) {
    io.stderr(`dm-agent server: cannot read the TLS certificate or key: ${errorText(error)}\n`);
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
      io.stderr(`dm-agent server: ${fleetFile}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`dm-agent server: cannot start: ${errorText(error)}\n`);
    return EXIT_FAILED;
  }

  io.stdout(`manager listening on ${server.url} (address ${server.manager.address}, UTC offset ${clockOffsetMs} ms)\n`);
  options.onListening?.(server);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  await server.manager.flush();
  io.stdout('manager stopped\n');
  return EXIT_OK;
}
