/**
 * `dm-agent updates-server`: runs the reference device update web service (seeds 002/003) on two
 * listeners until SIGINT/SIGTERM (or the test's `signal`), then closes and exits 0.
 * `dm-agent updates-server --hash-password` reads a password on stdin and prints a users-file hash.
 */
import { DeltaMaker } from '../../server/deltas.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDiscoveryRecord } from '../../agent/firmware/messages.ts';
import { SecretFileError, loadOrCreateSecretFile, readSecretFile } from '../../server/auth.ts';
import { ManifestError, type RunningUpdateServer, RuleError, UpdateServiceOptionsError, Users, UsersFileError, hashPassword, startUpdateServer } from '../../server/updates/index.ts';
import { startMetadataRefresh } from './server.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseOptions, untilStopped } from '../io.ts';

/**
 * Name, summary and options, in the shape of the command contract the CLI is moving to
 * (`CommandSpec` of cli/spec.ts: per-command --help from the same list the parser uses); the
 * parser below reads its flag and option names from here.
 */
export const spec = {
  name: 'updates-server',
  summary: 'start the reference device update web service: dm-agent updates-server --data-dir DIR [--import FOLDER]',
  args: '--data-dir DIR',
  options: [
    { name: 'data-dir', value: 'DIR', help: 'journal, image store and the admin token file (required)' },
    { name: 'users', value: 'FILE', help: 'users file ({"users": {name: scrypt hash}}): who may connect from outside' },
    { name: 'admin-token-file', value: 'FILE', help: 'admin token (mode 0600; default DIR/admin-token, created on first start)' },
    { name: 'import', value: 'FOLDER', help: 'import this folder (manifest.json + images) as pending rules at start' },
    { name: 'test-devices', value: 'IDS', help: 'comma-separated device ids that also get pending updates' },
    { name: 'internal-host', value: 'ADDR', help: 'internal listener address (default 127.0.0.1)' },
    { name: 'internal-port', value: 'N', help: 'internal listener port (default 0: a free one)' },
    { name: 'internal-origin', value: 'URL', help: 'the origin devices use for the internal listener (default: where it listens)' },
    { name: 'external-host', value: 'ADDR', help: 'external listener address (default 127.0.0.1)' },
    { name: 'external-port', value: 'N', help: 'external listener port (default 0: a free one)' },
    { name: 'external-origin', value: 'URL', help: 'the origin devices use for the external listener (default: where it listens)' },
    { name: 'tls-cert', value: 'FILE', help: 'serve both listeners over HTTPS with this certificate (PEM; with --tls-key)' },
    { name: 'tls-key', value: 'FILE', help: 'private key of --tls-cert (PEM)' },
    { name: 'metadata', value: 'DIR', help: 'serve the signed update metadata in DIR at <service>/metadata/ (dm-agent release sign --images)' },
    { name: 'deltas', value: 'DIR', help: 'patches: made here for answers, and those signed by dm-agent release sign --deltas DIR --delta-path ../deltas/ served (default DATA-DIR/deltas)' },
    { name: 'metadata-keys', value: 'DIR', help: 'snapshot.key.json and timestamp.key.json: keep DIR\'s snapshot/timestamp fresh' },
    { name: 'hash-password', help: 'read a password on stdin, print a users-file line, exit' },
    { name: 'quiet', help: 'no request log' },
  ],
  notes: 'Runs until SIGINT or SIGTERM, then exits 0. Prints the DNS TXT discovery record for ucupdates-r2.<domain> at start.',
} as const;

const USAGE = `usage: dm-agent updates-server ${spec.args} [${spec.options
  .filter((option) => option.name !== 'data-dir')
  .map((option) => ('value' in option ? `--${option.name} ${option.value}` : `--${option.name}`))
  .join('] [')}]`;
const FLAGS = spec.options.filter((option) => !('value' in option)).map((option) => option.name);
const VALUED = spec.options.filter((option) => 'value' in option).map((option) => option.name);

export interface UpdatesServerRunOptions {
  signal?: AbortSignal;
  onListening?: (server: RunningUpdateServer) => void;
  /** The password for --hash-password (default: read stdin). */
  readStdin?: () => Promise<string>;
}

export async function run(args: string[], io: CommandIo, options: UpdatesServerRunOptions = {}): Promise<number> {
  const { positional, options: opts, unknown } = parseOptions(args, FLAGS, VALUED);
  const problems = [...unknown, ...positional.map((arg) => `unexpected argument ${JSON.stringify(arg)}`)];
  const text = (name: string): string | undefined => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
  const port = (name: string): number => {
    const value = text(name);
    if (value === undefined) return 0;
    if (!/^\d+$/.test(value) || Number(value) > 65535) problems.push(`--${name} must be an integer in 0..65535, got ${JSON.stringify(value)}`);
    return Number(value);
  };
  if (opts['hash-password']) {
    if (problems.length > 0 || args.length !== 1) {
      io.stderr(`--hash-password takes no other options\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    const password = (await (options.readStdin ?? readStdin)()).replace(/\r?\n$/, '');
    if (password === '') {
      io.stderr('no password on stdin\n');
      return EXIT_USAGE;
    }
    io.stdout(`${await hashPassword(password)}\n`);
    return EXIT_OK;
  }
  const dataDir = text('data-dir');
  if (dataDir === undefined) problems.push('--data-dir DIR is required (journal, image store, admin token)');
  const internalPort = port('internal-port');
  const externalPort = port('external-port');
  const [certFile, keyFile] = [text('tls-cert'), text('tls-key')];
  if ((certFile === undefined) !== (keyFile === undefined)) problems.push('--tls-cert and --tls-key go together');
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let server: RunningUpdateServer;
  let stopRefresh = (): void => undefined;
  try {
    const tls = certFile !== undefined && keyFile !== undefined ? { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') } : undefined;
    const tokenFile = text('admin-token-file');
    let adminToken: string;
    if (tokenFile !== undefined) adminToken = readSecretFile(tokenFile);
    else {
      const file = join(dataDir!, 'admin-token');
      const created = loadOrCreateSecretFile(file);
      adminToken = created.secret;
      // The path, never the token: this line may end up in a log.
      if (created.created) io.stdout(`admin token created in ${file} (mode 0600)\n`);
    }
    const usersFile = text('users');
    const users = usersFile !== undefined ? await Users.read(usersFile) : undefined;
    const folder = text('import');
    const testDevices = text('test-devices')?.split(',').filter((id) => id !== '');
    const metadataDir = text('metadata');
    const metadataKeys = text('metadata-keys');
    if (metadataDir !== undefined && metadataKeys !== undefined) stopRefresh = await startMetadataRefresh(metadataDir, metadataKeys, io, 'updates-server');
    const log = opts.quiet ? undefined : (line: string) => io.stdout(`${new Date().toISOString()} ${line}\n`);
    // Patches already in the folder (an earlier run's, a signed release's) are served by digest.
    const deltas = new DeltaMaker({ dir: text('deltas') ?? join(dataDir!, 'deltas'), ...(log ? { log } : {}) });
    const indexed = await deltas.index();
    if (indexed > 0) io.stdout(`${indexed} delta(s) served from ${text('deltas') ?? join(dataDir!, 'deltas')}\n`);
    const host = (name: string): { host?: string } => (text(name) !== undefined ? { host: text(name)! } : {});
    const origin = (name: string): { origin?: string } => (text(name) !== undefined ? { origin: text(name)! } : {});
    server = await startUpdateServer({
      adminToken,
      dataDir: dataDir!,
      // One certificate for both listeners: the seeds' devices use HTTPS (port 443) inside too.
      internal: { ...host('internal-host'), port: internalPort, ...origin('internal-origin'), ...(tls ? { tls } : {}) },
      external: { ...host('external-host'), port: externalPort, ...origin('external-origin'), ...(tls ? { tls } : {}) },
      ...(users ? { users } : {}),
      ...(folder !== undefined ? { importFolders: [folder] } : {}),
      ...(testDevices ? { testDevices } : {}),
      ...(metadataDir !== undefined ? { metadataDir } : {}),
      deltas,
      ...(log ? { log } : {}),
    });
  } catch (error) {
    const known = [ManifestError, RuleError, UpdateServiceOptionsError, UsersFileError, SecretFileError].some((type) => error instanceof type);
    io.stderr(`cannot start the update service: ${(error as Error).message}\n`);
    return known ? EXIT_USAGE : EXIT_FAILED;
  }

  const urls = server.service.serviceUrls();
  io.stdout(`update service: internal ${server.internalUrl}, external ${server.externalUrl}${ruleSummary(server)}\n`);
  io.stdout(`discovery record for ucupdates-r2.<domain>: TXT ${formatDiscoveryRecord(urls).map((chunk) => JSON.stringify(chunk)).join(' ')}\n`);
  if (!certFile) io.stdout('warning: both listeners are plain HTTP: devices will not send credentials to the external one (use --tls-cert/--tls-key)\n');
  options.onListening?.(server);
  await untilStopped(options.signal);
  stopRefresh();
  await server.close();
  await server.service.flush();
  io.stdout('update service stopped\n');
  return EXIT_OK;
}

function ruleSummary(server: RunningUpdateServer): string {
  const pending = server.service.rules().filter((rule) => rule.state === 'pending').length;
  return `; ${server.service.rules().length} rules (${pending} pending)`;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
