/**
 * `dm-agent server`: runs the reference manager until SIGINT/SIGTERM (or, in tests, until the
 * `signal` passed as third argument aborts), then closes and exits 0.
 *
 * The admin token is shown on stdout once: when it is created in the data dir, or every start when
 * there is no data dir and no `--admin-token-file` (then it only lives as long as the process).
 * It never goes through the log function.
 */
import { readFile } from 'node:fs/promises';
import { SecretFileError, readSecretFile } from '../../server/auth.ts';
import { PeerError, peerAddress } from '../../server/peers.ts';
import { FleetError, readFleetFile } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { connectPushBroker, type PushBroker, startPushBroker } from '../../server/push.ts';
import { ManagerOptionsError } from '../../server/manager.ts';
import { startMetadataRefresher } from '../../server/metadata.ts';
import { join } from 'node:path';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, errorText, untilStopped } from '../io.ts';
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
    { name: 'admin-token-file', value: 'FILE', help: 'admin token for /api/* (default: generated into the data dir at first start, printed)' },
    { name: 'peer-secret-file', value: 'FILE', help: 'shared secret the peer managers authenticate moves with' },
    { name: 'peer', value: 'URL', help: 'a peer manager this one may contact (repeatable; needs --peer-secret-file)', repeatable: true },
    { name: 'peers-file', value: 'FILE', help: 'peer manager URLs, one a line (# comments)' },
    { name: 'faults', help: 'enable the fault-injection API (tests only)' },
    { name: 'no-device-auth', help: 'agent endpoints without device tokens (legacy agents; default: devices authenticate, admins accept their keys)' },
    { name: 'max-enrolments', value: 'N', help: 'cap on devices enrolled automatically' },
    { name: 'max-counter-ahead-ms', value: 'N', help: "refuse reference counters this far beyond the server's clock" },
    { name: 'journal-max-bytes', value: 'N', help: 'compact the journal beyond this size' },
    { name: 'body-timeout-ms', value: 'N', help: 'deadline for a whole request body' },
    { name: 'metadata', value: 'DIR', help: 'serve this signed update metadata directory at /metadata/ (dm-agent release sign)' },
    { name: 'metadata-keys', value: 'DIR', help: 'snapshot.key.json and timestamp.key.json: re-sign snapshot/timestamp at start, when targets.json changes and before the timestamp expires' },
    { name: 'mqtt-url', value: 'URL', help: 'publish push wake-ups at this external broker (default: an embedded one, MQTT 3.1.1)' },
    { name: 'mqtt-port', value: 'N', help: 'port of the embedded push broker (default: a free one, printed)' },
    { name: 'no-push', help: 'no push broker: POST /api/push answers 404' },
  ],
  notes: 'Runs until SIGINT or SIGTERM, then exits 0.',
};

export interface ServerRunOptions {
  /** Stops the server like SIGINT does. */
  signal?: AbortSignal;
  /** Called once listening (tests use it to find the port and the push broker). */
  onListening?: (server: RunningManager, push?: PushBroker) => void;
}

export async function run(args: string[], io: CommandIo, options: ServerRunOptions = {}): Promise<number> {
  const { peers: peerArgs, rest } = takeRepeated(args, 'peer');
  const { positional, options: opts, problems } = parseArgs(spec.options, rest);
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
  const limits = {
    maxEnrolments: integer('max-enrolments', 0, 10 ** 9),
    maxCounterAheadMs: integer('max-counter-ahead-ms', 0, 10 ** 12),
    journalMaxBytes: integer('journal-max-bytes', 1024, 2 ** 40),
  };
  const bodyTimeoutMs = integer('body-timeout-ms', 1, 3_600_000);
  const mqttPort = integer('mqtt-port', 0, 65535);
  const mqttUrl = text('mqtt-url');
  if (mqttUrl !== undefined && !/^mqtts?:\/\/[^\s/?#]+\/?$/.test(mqttUrl)) problems.push(`--mqtt-url must be mqtt://host:port or mqtts://host:port, got ${JSON.stringify(mqttUrl)}`);
  if (opts['no-push'] === true && (mqttUrl !== undefined || mqttPort !== undefined)) problems.push('--no-push goes without --mqtt-url and --mqtt-port');
  if (mqttUrl !== undefined && mqttPort !== undefined) problems.push('--mqtt-port is for the embedded broker: not with --mqtt-url');
  const peers: string[] = [];
  for (const url of peerArgs) {
    if (url === undefined) problems.push('--peer needs a value');
    else peers.push(url);
  }
  const peersFile = text('peers-file');
  try {
    if (peersFile !== undefined) peers.push(...(await readFile(peersFile, 'utf8')).split('\n').map((line) => line.replace(/#.*/, '').trim()).filter((line) => line !== ''));
  } catch (error) {
    problems.push(`${peersFile}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  for (const url of peers) {
    try {
      peerAddress(url);
    } catch (error) {
      if (error instanceof PeerError) problems.push(`--peer: ${error.message}`);
      else throw error;
    }
  }
  const peerSecretFile = text('peer-secret-file');
  if (peers.length > 0 && peerSecretFile === undefined) problems.push('--peer/--peers-file need --peer-secret-file (the managers authenticate each other with it)');
  let adminToken: string | undefined;
  let peerSecret: string | undefined;
  try {
    const tokenFile = text('admin-token-file');
    if (tokenFile !== undefined) adminToken = readSecretFile(tokenFile);
    if (peerSecretFile !== undefined) peerSecret = readSecretFile(peerSecretFile);
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0) return usageError(io, spec, problems);

  let tls: { cert: string; key: string } | undefined;
  try {
    if (certFile !== undefined && keyFile !== undefined) tls = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (error) {
    io.stderr(`dm-agent server: cannot read the TLS certificate or key: ${errorText(error)}\n`);
    return EXIT_USAGE;
  }
  let server: RunningManager;
  let push: PushBroker | undefined;
  let stopRefresh = (): void => undefined;
  try {
    if (opts['no-push'] !== true) push = mqttUrl !== undefined ? await connectPushBroker(mqttUrl) : await startPushBroker({ host: '127.0.0.1', ...(mqttPort !== undefined ? { port: mqttPort } : {}) });
    const fleet = await readFleetFile(fleetFile!);
    const log = opts.quiet ? undefined : (line: string) => io.stdout(`${new Date().toISOString()} ${line}\n`);
    const setup: Parameters<typeof startServer>[0] = { fleet, clockOffsetMs, peers, faults: opts.faults === true, deviceAuth: opts['no-device-auth'] === true ? 'off' : 'required' };
    const address = text('address');
    const dataDir = text('data-dir');
    if (address !== undefined) setup.address = address;
    if (dataDir !== undefined) setup.dataDir = dataDir;
    const metadataDir = text('metadata');
    if (metadataDir !== undefined) {
      setup.metadataDir = metadataDir;
      const keysDir = text('metadata-keys');
      if (keysDir !== undefined) stopRefresh = await startMetadataRefresh(metadataDir, keysDir, io);
    }
    if (adminToken !== undefined) setup.adminToken = adminToken;
    if (peerSecret !== undefined) setup.peerSecret = peerSecret;
    for (const [name, value] of Object.entries(limits)) if (value !== undefined) setup[name as keyof typeof limits] = value;
    if (log) setup.log = log;
    if (push) setup.push = push;
    server = await startServer(setup, { host: text('host') ?? '127.0.0.1', port, ...(tls ? { tls } : {}), ...(bodyTimeoutMs !== undefined ? { bodyTimeoutMs } : {}) });
  } catch (error) {
    await push?.close();
    if (error instanceof SecretFileError) {
      io.stderr(`dm-agent server: cannot use the admin token file: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof FleetError || error instanceof ManagerOptionsError) {
      io.stderr(`dm-agent server: ${fleetFile}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`dm-agent server: cannot start: ${errorText(error)}\n`);
    return EXIT_FAILED;
  }

  io.stdout(`manager listening on ${server.url} (address ${server.manager.address}, UTC offset ${clockOffsetMs} ms)\n`);
  io.stdout(`${describeAdminToken(server)}\n`);
  if (opts.faults === true) io.stdout('fault injection is ON (/api/faults): for tests only\n');
  io.stdout(
    opts['no-device-auth'] === true
      ? 'device authentication is OFF: any client may speak for any device\n'
      : 'devices authenticate (POST /auth/v1/requests); accept their keys with PUT /api/auth/devices/<id>/<key> {"status":"accepted"} or POST /api/auth/devices {"deviceId","publicKey"}\n',
  );
  if (push) io.stdout(`push broker: ${push.url} (${push.kind === 'embedded' ? 'embedded, MQTT 3.1.1' : 'external'}); POST /api/push wakes the devices\n`);
  options.onListening?.(server, push);
  await untilStopped(options.signal);
  stopRefresh();
  await server.close();
  await push?.close();
  await server.manager.flush();
  io.stdout('manager stopped\n');
  return EXIT_OK;
}

/** Signs a fresh snapshot/timestamp at start, when targets change and before the timestamp expires. */
export async function startMetadataRefresh(dir: string, keysDir: string, io: CommandIo, command = 'server'): Promise<() => void> {
  const refresher = await startMetadataRefresher(dir, keysDir, {
    onRefresh: (version) => io.stdout(`metadata: timestamp version ${version}\n`),
    onError: (error) => io.stderr(`dm-agent ${command}: metadata refresh: ${errorText(error)}\n`),
  });
  return () => refresher.stop();
}

/** The one place the admin token is shown: stdout, once per creation (or per run for a random one). */
function describeAdminToken(server: RunningManager): string {
  const source = server.manager.adminTokenSource;
  switch (source.kind) {
    case 'created':
      return `admin token (shown once; stored in ${source.file}, mode 0600): ${server.manager.adminToken}`;
    case 'random':
      return `admin token for this run (no --data-dir or --admin-token-file): ${server.manager.adminToken}`;
    case 'read':
      return `admin token: in ${source.file}`;
    case 'option':
      return 'admin token: from --admin-token-file';
  }
}

/** Pulls every `--<name> V` / `--<name>=V` out of `args` (parseOptions keeps only the last of a repeated option). */
function takeRepeated(args: string[], name: string): { peers: (string | undefined)[]; rest: string[] } {
  const peers: (string | undefined)[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${name}`) peers.push(args[++i]);
    else if (arg.startsWith(`--${name}=`)) peers.push(arg.slice(name.length + 3));
    else rest.push(arg);
  }
  return { peers, rest };
}
